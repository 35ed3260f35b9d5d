import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeScraperApi } from '../fakes/fake-scraper-api.js';
import { createOwnDatabase } from '../utils/own-database.js';
import {
  createTestApp,
  createUser,
  waitFor,
  type TestApp,
  type TestUser,
} from '../utils/test-app.js';

describe('Admin queue operations, stats and Bull Board', () => {
  let t: TestApp;
  let fake: FakeScraperApi;
  let admin: TestUser;
  let user: TestUser;
  let database: Awaited<ReturnType<typeof createOwnDatabase>>;

  beforeAll(async () => {
    fake = await new FakeScraperApi({ apiKey: 'admin-test-key' }).start();
    // Its own database: the statistics are global, and other files write to the shared one.
    database = await createOwnDatabase('admin');
    t = await createTestApp({
      env: {
        DATABASE_URL: database.url,
        PYTHON_SCRAPER_API_URL: fake.url,
        PYTHON_SCRAPER_API_KEY: 'admin-test-key',
        SCRAPER_BACKOFF_MS: '10',
      },
    });
    [admin, user] = [await createUser(t, 'admin'), await createUser(t)];
  });
  afterAll(async () => {
    await t?.close();
    await fake?.stop();
    await database?.drop();
  });

  const job = async (id: string) => (await t.http.get(`/api/scraper/jobs/${id}`, admin.token)).body;
  const scrape = async (who: TestUser, keyword: string) => {
    const res = await t.http.post('/api/scraper/jobs', { keyword, location: 'Jakarta' }, who.token);
    expect(res.status).toBe(202);
    return res.body.job_id as string;
  };
  const settle = (id: string, status: string) =>
    waitFor(async () => ((await job(id)).status === status ? job(id) : undefined), {
      what: `job ${id} ${status}`,
    });

  it('refuses every operation to non-admins (403) and to anonymous callers (401)', async () => {
    const premium = await createUser(t, 'premium');
    const calls: Array<[string, string]> = [
      ['GET', '/api/admin/queues'],
      ['GET', '/api/admin/queues/scraper'],
      ['GET', '/api/admin/queues/scraper/failed'],
      ['POST', '/api/admin/queues/scraper/failed/retry'],
      ['DELETE', '/api/admin/queues/scraper/failed'],
      ['POST', `/api/admin/queues/scraper/jobs/${randomUUID()}/retry`],
      ['POST', '/api/admin/queues/scraper/pause'],
      ['POST', '/api/admin/queues/scraper/resume'],
      ['GET', '/api/admin/stats'],
    ];
    for (const [method, path] of calls) {
      expect(
        (await t.http.request(method, path, { token: user.token })).status,
        `${method} ${path}`,
      ).toBe(403);
      expect(
        (await t.http.request(method, path, { token: premium.token })).status,
        `${method} ${path}`,
      ).toBe(403);
      expect((await t.http.request(method, path)).status, `${method} ${path}`).toBe(401);
    }
  });

  it('shows both queues with counts per state', async () => {
    const res = await t.http.get('/api/admin/queues', admin.token);
    expect(res.status).toBe(200);
    expect(res.body.queues.map((q: { name: string }) => q.name)).toEqual(['crawler', 'scraper']);
    expect(res.body.queues[0]).toEqual({
      name: 'crawler',
      is_paused: false,
      counts: { waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0, paused: 0 },
      waiting_by_priority: { admin: 0, premium: 0, user: 0, none: 0 },
    });
    expect((await t.http.get('/api/admin/queues/nope', admin.token)).status).toBe(404);
  });

  it('pauses a queue, splits its waiting jobs by priority, and resumes it', async () => {
    const paused = await t.http.post('/api/admin/queues/scraper/pause', undefined, admin.token);
    expect(paused.status).toBe(200);
    expect(paused.body.is_paused).toBe(true);
    const premium = await createUser(t, 'premium');
    const ids = [
      await scrape(user, `p-user ${randomUUID()}`),
      await scrape(user, `p-user ${randomUUID()}`),
      await scrape(premium, `p-prem ${randomUUID()}`),
      await scrape(admin, `p-admin ${randomUUID()}`),
    ];
    const summary = (await t.http.get('/api/admin/queues/scraper', admin.token)).body;
    expect(summary.counts.paused + summary.counts.waiting).toBe(4);
    expect(summary.waiting_by_priority).toEqual({ admin: 1, premium: 1, user: 2, none: 0 });
    expect((await job(ids[0])).status).toBe('queued');
    expect(fake.calls).toHaveLength(0);

    const resumed = await t.http.post('/api/admin/queues/scraper/resume', undefined, admin.token);
    expect(resumed.body.is_paused).toBe(false);
    for (const id of ids) await settle(id, 'completed');
    // Two run at once (SCRAPER_CONCURRENCY 2): admin's and premium's first, in either order, the users' after.
    const order = fake.calls.map((call) => call.keyword.split(' ')[0]);
    expect(order.slice(0, 2).sort()).toEqual(['p-admin', 'p-prem']);
    expect(order.slice(2)).toEqual(['p-user', 'p-user']);
  });

  it('lists failed jobs with their errors, retries one, retries all, removes failed', async () => {
    fake.failAlways = true;
    const ids = [
      await scrape(user, `f-1 ${randomUUID()}`),
      await scrape(user, `f-2 ${randomUUID()}`),
      await scrape(user, `f-3 ${randomUUID()}`),
    ];
    for (const id of ids) await settle(id, 'failed');

    const failed = await t.http.get('/api/admin/queues/scraper/failed?limit=2', admin.token);
    expect(failed.status).toBe(200);
    expect(failed.body.meta).toEqual({ page: 1, limit: 2, total: 3 });
    expect(failed.body.data).toHaveLength(2);
    expect(failed.body.data[0]).toMatchObject({
      name: 'scrape',
      attempts_made: 3,
      failed_reason: expect.stringMatching(/HTTP 500/),
      data: { jobId: expect.any(String), keyword: expect.stringMatching(/^f-/) },
    });
    expect(ids).toContain(failed.body.data[0].id);

    // Retry one: its row goes back to queued, then completes — with all its attempts again,
    // so one more failure of the provider is retried, not final.
    fake.failAlways = false;
    fake.failNext = 1;
    const retried = await t.http.post(
      `/api/admin/queues/scraper/jobs/${ids[0]}/retry`,
      undefined,
      admin.token,
    );
    expect(retried.status).toBe(200);
    expect(retried.body).toEqual({ queue: 'scraper', job_id: ids[0], status: 'waiting' });
    const done = await settle(ids[0], 'completed');
    expect(done).toMatchObject({
      error: null,
      attempts_made: 2,
      result: { total: 20, inserted: 20 },
    });
    expect(
      (await t.http.post(`/api/admin/queues/scraper/jobs/${ids[0]}/retry`, undefined, admin.token))
        .status,
    ).toBe(409);
    expect(
      (
        await t.http.post(
          `/api/admin/queues/scraper/jobs/${randomUUID()}/retry`,
          undefined,
          admin.token,
        )
      ).status,
    ).toBe(404);

    // Retry all: the other two run again.
    const all = await t.http.post('/api/admin/queues/scraper/failed/retry', undefined, admin.token);
    expect(all.body).toEqual({ queue: 'scraper', retried: 2 });
    for (const id of ids.slice(1)) await settle(id, 'completed');

    // Remove failed.
    fake.failAlways = true;
    const doomed = await scrape(user, `f-4 ${randomUUID()}`);
    await settle(doomed, 'failed');
    const removed = await t.http.delete('/api/admin/queues/scraper/failed', admin.token);
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ queue: 'scraper', removed: 1 });
    expect(
      (await t.http.get('/api/admin/queues/scraper/failed', admin.token)).body.meta.total,
    ).toBe(0);
    expect((await job(doomed)).status).toBe('failed'); // the job row keeps its history
    fake.failAlways = false;
  });

  it('reports users, jobs per status, places and the cache hit rate', async () => {
    const stats = async () => (await t.http.get('/api/admin/stats', admin.token)).body;
    const before = await stats();
    expect(Object.keys(before.jobs.crawler).sort()).toEqual([
      'cancelled',
      'completed',
      'failed',
      'queued',
      'running',
      'total',
    ]);
    // A finished crawler job, as the crawler module would leave it.
    await t.app.get(DataSource).query(
      `INSERT INTO crawler_jobs (user_id, status, keywords, domain_count, priority, timeout_seconds)
       VALUES ($1, 'completed', ARRAY['stats'], 1, 10, 600)`,
      [user.id],
    );
    const other = await createUser(t, 'premium');
    const keyword = `stats ${randomUUID()}`;
    await settle(await scrape(other, keyword), 'completed'); // a cache miss: 20 places
    const hit = await t.http.post(
      '/api/scraper/jobs',
      { keyword, location: 'Jakarta' },
      user.token,
    );
    expect(hit.status).toBe(200); // a hit: the same 20 places, now for this user too
    const refresh = await t.http.post(
      '/api/scraper/jobs',
      { keyword, location: 'Jakarta', refresh: true },
      user.token,
    );
    await settle(refresh.body.job_id, 'completed'); // skips the cache: not a lookup, no new place

    // This file has its own database and its tests run in order: the differences are exact.
    const after = await stats();
    const lookups = before.cache.lookups + 2;
    const hits = before.cache.hits + 1;
    expect(after).toEqual({
      users: {
        total: before.users.total + 1,
        by_role: { ...before.users.by_role, premium: before.users.by_role.premium + 1 },
      },
      jobs: {
        scraper: {
          ...before.jobs.scraper,
          completed: before.jobs.scraper.completed + 3,
          total: before.jobs.scraper.total + 3,
        },
        crawler: {
          ...before.jobs.crawler,
          completed: before.jobs.crawler.completed + 1,
          total: before.jobs.crawler.total + 1,
        },
      },
      places: { total: before.places.total + 40 },
      cache: {
        window_hours: 24,
        lookups,
        hits,
        misses: lookups - hits,
        hit_rate: Math.round((hits / lookups) * 10_000) / 10_000,
      },
      spend: after.spend,
    });
    // Two provider calls (the miss, the refresh), each paid by its own job's user; the Python
    // scraper is priced at 0 by default. The hit paid nothing.
    for (const period of ['today', 'month'] as const) {
      const spend = after.spend[period];
      expect(spend.total).toEqual({
        requests: before.spend[period].total.requests + 2,
        usd: 0,
      });
      expect(spend.by_provider).toEqual([
        { provider: 'python-api', requests: before.spend[period].total.requests + 2, usd: 0 },
      ]);
      const earlier = (id: string): number =>
        before.spend[period].by_user.find((u: { user_id: string }) => u.user_id === id)?.requests ??
        0;
      expect(spend.by_user).toEqual(
        expect.arrayContaining([
          { user_id: other.id, email: other.email, requests: 1, usd: 0 },
          { user_id: user.id, email: user.email, requests: earlier(user.id) + 1, usd: 0 },
        ]),
      );
    }
    expect(Object.values(after.users.by_role).reduce((a: number, b) => a + (b as number), 0)).toBe(
      after.users.total,
    );
  });

  describe('Bull Board at /admin/queues', () => {
    it('answers 401 without a token and 403 for a non-admin', async () => {
      const anonymous = await t.http.get('/admin/queues');
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
      expect((await t.http.get('/admin/queues', user.token)).status).toBe(403);
      expect((await t.http.get(`/admin/queues?access_token=${user.token}`)).status).toBe(403);
      expect((await t.http.get('/admin/queues/api/queues')).status).toBe(401);
      expect((await t.http.get('/admin/queues/api/queues', 'not-a-token')).status).toBe(401);
    });

    it('serves the board to an admin by header, and by ?access_token= then cookie for its own calls', async () => {
      const page = await t.http.get('/admin/queues', admin.token);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);

      const visit = await t.http.get(`/admin/queues?access_token=${admin.token}`);
      expect(visit.status).toBe(200);
      const setCookie = visit.headers.get('set-cookie')!;
      expect(setCookie).toMatch(
        /^gm_bull_board=.+; Path=\/admin\/queues; HttpOnly; SameSite=Strict/,
      );
      const api = await t.http.get('/admin/queues/api/queues', undefined, {
        cookie: setCookie.split(';')[0],
      });
      expect(api.status).toBe(200);
      expect(api.body.queues.map((q: { name: string }) => q.name).sort()).toEqual([
        'crawler',
        'scraper',
      ]);
    });
  });
});
