import { randomBytes } from 'node:crypto';
import { prepareDatabase } from '../../src/database/prepare-database.js';
import { dropDatabase } from './cleanup.js';

const ADMIN_URL =
  process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A fresh, migrated database for one test file, for assertions on global figures (admin
 * statistics) that other files running in parallel on the run's shared database would blur.
 */
export async function createOwnDatabase(
  label: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `gm_test_${label}_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  await prepareDatabase({ database: { url: url.toString(), poolSize: 1 } });
  return {
    url: url.toString(),
    drop: () => dropDatabase(ADMIN_URL, name),
  };
}
