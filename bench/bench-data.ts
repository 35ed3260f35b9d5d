import { dropDatabase, unlinkKeys } from '../test/utils/cleanup.js';

/**
 * Removes what a benchmark run left behind: its database and its Redis keys. Each run
 * recreates them anyway; this only gives the disk and memory back. `BENCH_KEEP_DATA=1`
 * keeps them for inspection.
 */
export async function dropBenchData(options: {
  adminUrl: string;
  database: string;
  redisUrl: string;
  redisPrefix: string;
}): Promise<void> {
  if (process.env.BENCH_KEEP_DATA) return;
  await dropDatabase(options.adminUrl, options.database);
  await unlinkKeys(options.redisUrl, `${options.redisPrefix}:*`);
}
