import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { FakeScraperApi } from '../fakes/fake-scraper-api.js';
import { openSse } from '../utils/sse-client.js';
import {
  createTestApp,
  createUser,
  uniquePrefix,
  waitFor,
  type TestApp,
  type TestUser,
} from '../utils/test-app.js';
import { ensureBuilt, startWorkerProcess, type WorkerProcess } from '../utils/worker-process.js';

const API_KEY = 'worker-test-key';
/** Booting a compiled worker takes seconds, and much longer on a busy 2-core machine. */
const WORKER_START_TIMEOUT_MS = 60_000;

describe('Scraper workers', () => {
  let fake: FakeScraperApi;
  const apps: TestApp[] = [];
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    fake = await new FakeScraperApi({ apiKey: API_KEY }).start();
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    await Promise.all(apps.map((a) => a.close()));
    await fake?.stop();
  });

  const env = (prefix: string, extra: Record<string, string> = {}) => ({
    REDIS_KEY_PREFIX: prefix,
    PYTHON_SCRAPER_API_URL: fake.url,
    PYTHON_SCRAPER_API_KEY: API_KEY,
    SCRAPER_BACKOFF_MS: '20',
    ...extra,
  });
  async function app(prefix: string, extra: Record<string, string> = {}) {
    const a = await createTestApp({ env: env(prefix, extra) });
    apps.push(a);
    return a;
  }
  async function job(t: TestApp, user: TestUser, id: string) {
    return (await t.http.get(`/api/scraper/jobs/${id}`, user.token)).body;
  }

  it('finishes a job whose worker process was killed mid-job (SIGKILL), with no duplicate places', async () => {
    ensureBuilt();
    const prefix = uniquePrefix();
    // Short locks so a dead worker's job is recovered within the test, not after 30 s.
    const locks = { SCRAPER_LOCK_DURATION_MS: '1000', SCRAPER_STALLED_INTERVAL_MS: '500' };
    const api = await app(prefix, { APP_ROLE: 'api', ...locks });
    const workerEnv = { DATABASE_URL: inject('databaseUrl'), ...env(prefix, locks) };
    const first = await startWorkerProcess(workerEnv, WORKER_START_TIMEOUT_MS);
    workers.push(first);

    const user = await createUser(api);
    const keyword = `killed ${prefix}`;
    // The user already has 5 of the 20 places: they must be counted as duplicates, not stored twice.
    fake.namesByKeyword.set(
      keyword,
      Array.from({ length: 20 }, (_, i) => `Place ${i}`),
    );
    fake.namesByKeyword.set(
      `${keyword} seed`,
      Array.from({ length: 5 }, (_, i) => `Place ${i}`),
    );
    const seed = await api.http.post(
      '/api/scraper/jobs',
      { keyword: `${keyword} seed`, location: 'Jakarta' },
      user.token,
    );
    await waitFor(async () => (await job(api, user, seed.body.job_id)).status === 'completed', {
      what: 'seed job',
    });

    fake.latencyMs = 60_000; // the worker will be stuck in the provider call when it dies
    const res = await api.http.post(
      '/api/scraper/jobs',
      { keyword, location: 'Jakarta' },
      user.token,
    );
    expect(res.status).toBe(202);
    await waitFor(() => fake.callsFor(keyword).length === 1, { what: 'the provider call' });
    expect((await job(api, user, res.body.job_id)).status).toBe('processing');

    await first.kill('SIGKILL');
    expect(first.child.signalCode).toBe('SIGKILL');
    fake.latencyMs = 0;
    const second = await startWorkerProcess(workerEnv, WORKER_START_TIMEOUT_MS);
    workers.push(second);

    const done = await waitFor(
      async () => {
        const j = await job(api, user, res.body.job_id);
        return j.status === 'completed' || j.status === 'failed' ? j : undefined;
      },
      { timeoutMs: 15_000, what: 'the recovered job' },
    );
    expect(done).toMatchObject({
      status: 'completed',
      error: null,
      result: { total: 20, inserted: 15, duplicates: 5 },
    });
    expect(fake.callsFor(keyword)).toHaveLength(2);
    const rows = await api.app
      .get(DataSource)
      .query(
        `SELECT count(*)::int AS n, count(DISTINCT lower(name))::int AS names FROM google_map_places WHERE user_id = $1`,
        [user.id],
      );
    expect(rows[0]).toEqual({ n: 20, names: 20 });
    expect(second.output()).toMatch(/stalled/);
    // A graceful stop: Nest closes, then re-raises SIGTERM (exit by signal, not the deadline's exit 1).
    await second.kill('SIGTERM');
    expect(second.child.exitCode === 0 || second.child.signalCode === 'SIGTERM').toBe(true);
  }, 180_000);

  it('runs admins’ jobs before users’ jobs queued earlier (and premium in between)', async () => {
    const prefix = uniquePrefix();
    const api = await app(prefix, { APP_ROLE: 'api' });
    const [user, premium, admin] = [
      await createUser(api),
      await createUser(api, 'premium'),
      await createUser(api, 'admin'),
    ];
    const tag = prefix.slice(-6);
    const order = [
      [user, `user-1 ${tag}`],
      [user, `user-2 ${tag}`],
      [premium, `premium ${tag}`],
      [user, `user-3 ${tag}`],
      [admin, `admin ${tag}`],
    ] as const;
    const ids: Array<[TestUser, string]> = [];
    for (const [who, keyword] of order) {
      const res = await api.http.post(
        '/api/scraper/jobs',
        { keyword, location: 'Jakarta' },
        who.token,
      );
      expect(res.status).toBe(202);
      ids.push([who, res.body.job_id]);
    }
    // Nothing runs in an API-only process.
    expect((await job(api, user, ids[0][1])).status).toBe('queued');
    expect(fake.calls.filter((c) => c.keyword.endsWith(tag))).toHaveLength(0);

    await app(prefix, { APP_ROLE: 'worker', SCRAPER_CONCURRENCY: '1' });
    await waitFor(
      async () =>
        (await Promise.all(ids.map(([who, id]) => job(api, who, id)))).every(
          (j) => j.status === 'completed',
        ),
      { timeoutMs: 15_000, what: 'all jobs' },
    );
    expect(
      fake.calls.filter((c) => c.keyword.endsWith(tag)).map((c) => c.keyword.split(' ')[0]),
    ).toEqual(['admin', 'premium', 'user-1', 'user-2', 'user-3']);
  });

  it('fails an attempt that runs over SCRAPER_JOB_TIMEOUT, and the job after 3 such attempts', async () => {
    const prefix = uniquePrefix();
    const t = await app(prefix, { SCRAPER_JOB_TIMEOUT: '1' });
    const user = await createUser(t);
    const keyword = `slow ${prefix}`;
    fake.latencyMs = 1_500;
    try {
      const res = await t.http.post(
        '/api/scraper/jobs',
        { keyword, location: 'Jakarta' },
        user.token,
      );
      const retrying = await waitFor(async () => {
        const j = await job(t, user, res.body.job_id);
        return j.error && j.status !== 'failed' ? j : undefined;
      });
      expect(retrying.error).toMatch(/Attempt 1 of 3 failed: .*timed out/);
      const done = await waitFor(
        async () => {
          const j = await job(t, user, res.body.job_id);
          return j.status === 'failed' ? j : undefined;
        },
        { timeoutMs: 10_000, what: 'the job to fail' },
      );
      expect(done).toMatchObject({ attempts_made: 3, result: null });
      expect(done.error).toMatch(/timed out/);
      expect(fake.callsFor(keyword)).toHaveLength(3);
    } finally {
      fake.latencyMs = 0;
    }
  });

  it('completes open event streams when the app shuts down', async () => {
    const prefix = uniquePrefix();
    const api = await createTestApp({ env: env(prefix, { APP_ROLE: 'api' }) });
    const user = await createUser(api);
    const res = await api.http.post(
      '/api/scraper/jobs',
      { keyword: `pending ${prefix}`, location: 'Jakarta' },
      user.token,
    );
    const stream = await openSse(
      `${api.baseUrl}/api/scraper/jobs/${res.body.job_id}/events?access_token=${user.token}`,
    );
    await stream.until((e) => e.event === 'status');
    const started = Date.now();
    await api.close();
    await stream.closed;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(JSON.parse(stream.events.find((e) => e.event === 'status')!.data).status).toBe('queued');
  });
});
