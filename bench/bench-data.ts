import { Redis } from 'ioredis';
import pg from 'pg';

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
  const admin = new pg.Client({ connectionString: options.adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${options.database}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  const redis = new Redis(options.redisUrl);
  try {
    for await (const keys of redis.scanStream({ match: `${options.redisPrefix}:*`, count: 1000 })) {
      if ((keys as string[]).length) await redis.unlink(...(keys as string[]));
    }
  } finally {
    redis.disconnect();
  }
}
