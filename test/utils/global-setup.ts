import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { prepareDatabase } from '../../src/database/prepare-database.js';
import { dropDatabase, unlinkKeys } from './cleanup.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    /** Every test app's REDIS_KEY_PREFIX starts with it (`uniquePrefix()`). */
    redisPrefix: string;
  }
}

const ADMIN_URL =
  process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * One fresh, migrated database per test run, and one Redis key prefix: runs never see each
 * other's rows or keys. Both are removed at the end.
 */
export default async function setup(project: TestProject) {
  const run = `${Date.now()}_${randomBytes(3).toString('hex')}`;
  const name = `gm_test_${run}`;
  const redisPrefix = `test-${run}`;
  project.provide('redisPrefix', redisPrefix);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  await prepareDatabase({ database: { url: url.toString(), poolSize: 1 } });
  project.provide('databaseUrl', url.toString());

  return async () => {
    await dropDatabase(ADMIN_URL, name);
    await unlinkKeys(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0', `${redisPrefix}-*`);
  };
}
