import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareDatabase } from '../../src/database/prepare-database.js';
import { MIGRATIONS } from '../../src/database/migrations/index.js';
import { dropDatabase } from '../utils/cleanup.js';

const ADMIN_URL =
  process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PROCESSES = 3;
const ROUNDS = 5;

describe('prepareDatabase started by several processes at once on a new database', () => {
  const created: string[] = [];
  afterAll(async () => {
    for (const name of created) await dropDatabase(ADMIN_URL, name);
  });

  it(`creates it once and migrates it once, whoever wins (${PROCESSES} at once, ${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const name = `gm_test_race_${randomBytes(4).toString('hex')}`;
      created.push(name);
      const url = new URL(ADMIN_URL);
      url.pathname = `/${name}`;
      const results = await Promise.allSettled(
        Array.from({ length: PROCESSES }, () =>
          prepareDatabase({ database: { url: url.toString(), poolSize: 1 } }),
        ),
      );
      expect(
        results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : [])),
        `round ${round}`,
      ).toEqual([]);

      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        const { rows } = await client.query<{ name: string }>(
          'SELECT name FROM migrations ORDER BY id',
        );
        expect(rows.map((r) => r.name)).toEqual(MIGRATIONS.map((m) => m.name));
      } finally {
        await client.end();
      }
    }
  });
});
