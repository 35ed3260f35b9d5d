import { waitFor, type TestApp, type TestUser } from './test-app.js';

/** A scrape job's answer once it has ended (`completed` or `failed`), read as its owner reads it. */
export function scrapeJobEnded(
  t: Pick<TestApp, 'http'>,
  user: TestUser,
  jobId: string,
  timeoutMs = 10_000,
): Promise<any> {
  return waitFor(
    async () => {
      const job = (await t.http.get(`/api/scraper/jobs/${jobId}`, user.token)).body;
      return job.status === 'completed' || job.status === 'failed' ? job : undefined;
    },
    { timeoutMs, what: `scrape job ${jobId} to end` },
  );
}
