import { Logger } from '@nestjs/common';
import pg from 'pg';
import { DataSource } from 'typeorm';
import type { AppConfig } from '@app/config';
import { typeOrmOptions } from './typeorm-options.js';

// Any constant works; it only has to be the same in every process of this app.
const MIGRATION_LOCK_ID = 7_263_001;
const MIGRATION_LOCK_POLL_MS = 100;

// Any constant works; it only has to be the same in every process of this app.
const CREATE_DATABASE_LOCK_ID = 7_263_002;
/** duplicate_database, and unique_violation on pg_database's name index: two CREATEs raced. */
const ALREADY_CREATED = new Set(['42P04', '23505']);

/**
 * Creates the database named in DATABASE_URL if it does not exist (fresh machine). Processes
 * started together on a new database take turns under an advisory lock on the admin
 * database (CREATE DATABASE cannot run in a transaction, and two at once make PostgreSQL
 * answer a unique violation on pg_database, not "already exists"); losing that race is
 * tolerated all the same, for any process that does not take the lock.
 */
export async function ensureDatabaseExists(databaseUrl: string): Promise<boolean> {
  const target = new URL(databaseUrl);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL: must name a database');
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = async () =>
      Boolean(
        (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount,
      );
    if (await exists()) return false;
    await client.query('SELECT pg_advisory_lock($1)', [CREATE_DATABASE_LOCK_ID]);
    try {
      if (await exists()) return false;
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      return true;
    } catch (error) {
      if (ALREADY_CREATED.has((error as { code?: string }).code ?? '')) return false;
      throw error;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [CREATE_DATABASE_LOCK_ID]);
    }
  } finally {
    await client.end();
  }
}

/**
 * Applies pending migrations. A Postgres advisory lock makes it safe for several processes
 * starting at once: one migrates, the others wait and then find nothing to do.
 */
export async function runMigrations(config: Pick<AppConfig, 'database'>): Promise<string[]> {
  const dataSource = new DataSource({ ...typeOrmOptions(config), extra: { max: 1 } });
  await dataSource.initialize();
  try {
    // Polled, not a blocking pg_advisory_lock(): a process blocked inside a statement holds a
    // snapshot, which CREATE INDEX CONCURRENTLY in the migrating process waits for — a deadlock.
    while (
      !(
        await dataSource.query<Array<{ locked: boolean }>>(
          'SELECT pg_try_advisory_lock($1) AS locked',
          [MIGRATION_LOCK_ID],
        )
      )[0].locked
    )
      await new Promise((resolve) => setTimeout(resolve, MIGRATION_LOCK_POLL_MS));
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((migration) => migration.name);
    } finally {
      await dataSource.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    }
  } finally {
    await dataSource.destroy();
  }
}

export async function prepareDatabase(config: Pick<AppConfig, 'database'>): Promise<void> {
  const logger = new Logger('Database');
  if (await ensureDatabaseExists(config.database.url)) logger.log('created the database');
  const applied = await runMigrations(config);
  if (applied.length) logger.log(`applied migrations: ${applied.join(', ')}`);
}
