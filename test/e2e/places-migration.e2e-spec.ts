import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/database/migrations/index.js';
import { ensureDatabaseExists, runMigrations } from '../../src/database/prepare-database.js';
import { dropDatabase } from '../utils/cleanup.js';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

describe('the places-indexes migration (CREATE INDEX CONCURRENTLY)', () => {
  const names: string[] = [];
  afterAll(() => Promise.all(names.map((name) => dropDatabase(ADMIN_URL, name))));

  it('runs while other processes starting at the same time wait for the migration lock', async () => {
    // A process blocked in pg_advisory_lock() holds a snapshot that CREATE INDEX CONCURRENTLY
    // waits for, while it waits for the lock the migrating process holds: a deadlock, unless
    // waiters poll. Three processes start at once, several times over.
    for (let round = 0; round < 3; round++) {
      const name = `gm_migrate_places_${randomBytes(4).toString('hex')}`;
      names.push(name);
      const url = ADMIN_URL.replace(/\/postgres$/, `/${name}`);
      await ensureDatabaseExists(url);
      const applied = await Promise.all(
        [1, 2, 3].map(() => runMigrations({ database: { url, poolSize: 1 } })),
      );
      expect(applied.flat().sort()).toEqual(MIGRATIONS.map((m) => m.name).sort());
    }
  });
});
