import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeScraperApi } from '../fakes/fake-scraper-api.js';
import { openSse } from '../utils/sse-client.js';
import { TcpProxy } from '../utils/tcp-proxy.js';
import {
  createTestApp,
  createUser,
  uniquePrefix,
  waitFor,
  type TestApp,
} from '../utils/test-app.js';

/**
 * An API process whose Redis goes away while a job it streams finishes in a worker process
 * that still reaches Redis: the final status is published while the API cannot hear it.
 */
describe('Scraper events stream across a Redis outage of the API process', () => {
  let fake: FakeScraperApi;
  let proxy: TcpProxy;
  let api: TestApp;
  let worker: TestApp;

  beforeAll(async () => {
    fake = await new FakeScraperApi({ apiKey: 'reconnect-key' }).start();
    proxy = await new TcpProxy('127.0.0.1', 6379).start();
    const shared = {
      REDIS_KEY_PREFIX: uniquePrefix(),
      PYTHON_SCRAPER_API_URL: fake.url,
      PYTHON_SCRAPER_API_KEY: 'reconnect-key',
    };
    api = await createTestApp({
      env: { ...shared, APP_ROLE: 'api', REDIS_URL: `redis://127.0.0.1:${proxy.port}/0` },
    });
    worker = await createTestApp({ env: { ...shared, APP_ROLE: 'worker' } });
  });
  afterAll(async () => {
    // The apps first, while Redis is reachable through the proxy: shutdown talks to it.
    await api?.close();
    await worker?.close();
    await proxy?.stop();
    await fake?.stop();
  });

  it('still ends with the final status, read again once Redis is back', async () => {
    const user = await createUser(api);
    fake.latencyMs = 1_000;
    const res = await api.http.post(
      '/api/scraper/jobs',
      { keyword: 'bakmi reconnect', location: 'Jakarta' },
      user.token,
    );
    expect(res.status).toBe(202);
    const jobId = res.body.job_id as string;
    const stream = await openSse(`${api.baseUrl}/api/scraper/jobs/${jobId}/events`, {
      authorization: `Bearer ${user.token}`,
    });
    await stream.until((e) => e.event === 'status' && JSON.parse(e.data).status === 'processing');

    const port = proxy.port;
    await proxy.stop();
    const db = api.app.get(DataSource);
    await waitFor(
      async () => {
        const [row] = await db.query(`SELECT status FROM scraper_jobs WHERE id = $1`, [jobId]);
        return row?.status === 'completed';
      },
      { what: 'the worker to complete the job', timeoutMs: 15_000 },
    );
    expect(stream.ended).toBe(false); // the completion was published while the API could not hear it

    await proxy.start(port);
    await stream.until((e) => e.event === 'end', 15_000);
    const statuses = stream.events
      .filter((e) => e.event === 'status')
      .map((e) => JSON.parse(e.data).status);
    expect(statuses.at(-1)).toBe('completed');
    expect(JSON.parse(stream.events.at(-1)!.data)).toMatchObject({
      status: 'completed',
      result: { total: 20, inserted: 20, duplicates: 0 },
    });
  });
});
