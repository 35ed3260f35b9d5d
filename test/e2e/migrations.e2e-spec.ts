import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { DataSource } from 'typeorm';
import { afterAll, describe, expect, it } from 'vitest';
import { typeOrmOptions } from '../../src/database/typeorm-options.js';
import { ensureDatabaseExists, runMigrations } from '../../src/database/prepare-database.js';
import { MIGRATIONS } from '../../src/database/migrations/index.js';
import { dropDatabase } from '../utils/cleanup.js';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

describe('migrations', () => {
  const name = `gm_migrate_${randomBytes(4).toString('hex')}`;
  const url = ADMIN_URL.replace(/\/postgres$/, `/${name}`);

  afterAll(() => dropDatabase(ADMIN_URL, name));

  it('creates a missing database, applies every migration to it, and reverts them all', async () => {
    expect(await ensureDatabaseExists(url)).toBe(true);
    expect(await ensureDatabaseExists(url)).toBe(false);

    const applied = await runMigrations({ database: { url, poolSize: 1 } });
    expect(applied).toEqual(MIGRATIONS.map((m) => m.name));
    // Running again (a second process starting) finds nothing to do.
    expect(await runMigrations({ database: { url, poolSize: 1 } })).toEqual([]);

    const ds = await new DataSource(
      typeOrmOptions({ database: { url, poolSize: 1 } }),
    ).initialize();
    try {
      const tables = async () =>
        (
          await ds.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)
        ).map((r: { tablename: string }) => r.tablename);
      expect(await tables()).toContain('users');
      // The entities match the schema the migrations built: no pending changes.
      const pending = await ds.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query)).toEqual([]);

      for (let i = 0; i < MIGRATIONS.length; i++)
        await ds.undoLastMigration({ transaction: 'each' });
      expect(await tables()).toEqual(['migrations']);
      const types = await ds.query(
        `SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' AND t.typtype = 'e'`,
      );
      expect(types).toEqual([]);
    } finally {
      await ds.destroy();
    }
  });

  it('compiles and runs through the TypeORM CLI data source (ormconfig.ts) under tsx', () => {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', './node_modules/typeorm/cli.js', 'migration:show', '-d', 'ormconfig.ts'],
      { env: { ...process.env, DATABASE_URL: url }, encoding: 'utf8', timeout: 60_000 },
    );
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.status).toBe(0);
    for (const migration of MIGRATIONS) expect(result.stdout).toContain(migration.name);
  });
});
