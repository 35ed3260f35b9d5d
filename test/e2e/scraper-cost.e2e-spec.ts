import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpendService } from '../../src/modules/spend/spend.service.js';
import { FakeGooglePlaces } from '../fakes/fake-google-places.js';
import { scrape } from '../utils/metrics.js';
import { createOwnDatabase } from '../utils/own-database.js';
import { scrapeJobEnded } from '../utils/scraper.js';
import { createTestApp, createUser, type TestApp, type TestUser } from '../utils/test-app.js';

/** What the scraper's field mask is billed at: Text Search Enterprise, $35 per 1,000. */
const SKU = 'places.text_search.enterprise';
const PAGE_USD = 0.035;
const PAGE_MICROS = 35_000;

const firstOfNextMonth = () => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
};

describe('provider cost: ledger, estimate, monthly budgets', () => {
  let fake: FakeGooglePlaces;
  let t: TestApp;
  let db: DataSource;
  let admin: TestUser;
  let ownDb: Awaited<ReturnType<typeof createOwnDatabase>>;

  beforeAll(async () => {
    fake = await new FakeGooglePlaces().start();
    fake.totalResults = 60;
    // Its own database: the admin's spend totals must not count other files' scrapes.
    ownDb = await createOwnDatabase('cost');
    t = await createTestApp({
      env: {
        DATABASE_URL: ownDb.url,
        SCRAPER_PROVIDER: 'google-places',
        GOOGLE_MAPS_API_KEY: fake.apiKey,
        GOOGLE_PLACES_API_BASE: fake.url,
        SCRAPER_BACKOFF_MS: '20',
        SCRAPER_CONCURRENCY: '10',
        SCRAPER_RATE_LIMIT_PER_HOUR: '1000',
        SCRAPER_MONTHLY_BUDGET_USD: '1',
        PREMIUM_SCRAPER_MONTHLY_BUDGET_USD: '5',
        SCRAPER_AREA_MAX_REQUESTS: '50',
      },
    });
    db = t.app.get(DataSource);
    admin = await createUser(t, 'admin');
  });
  afterAll(async () => {
    await t?.close();
    await fake?.stop();
    await ownDb?.drop();
  });

  const keyword = () => `kopi ${randomUUID().slice(0, 8)}`;
  const googleCallsFor = (kw: string) =>
    fake.requests.filter((r) => String(r.body.textQuery).startsWith(`${kw} in`)).length;
  const finished = (user: TestUser, jobId: string) => scrapeJobEnded(t, user, jobId);
  const ledgerOf = (userId: string) =>
    db.query<Array<{ provider: string; sku: string; usd_micros: string; job_id: string }>>(
      `SELECT provider, sku, usd_micros, job_id FROM provider_requests WHERE user_id = $1 ORDER BY id`,
      [userId],
    );
  const setBudget = (userId: string, usd: number | null) =>
    t.http.request('PUT', `/api/admin/users/${userId}/budget`, {
      body: { monthly_budget_usd: usd },
      token: admin.token,
    });

  it('records every billed page in the ledger and reports the job’s cost; the same search from the cache costs 0', async () => {
    const kw = keyword();
    const [alice, bob] = await Promise.all([createUser(t), createUser(t)]);
    const body = { keyword: kw, location: 'Jakarta Selatan', max_results: 45 };

    const res = await t.http.post('/api/scraper/jobs', body, alice.token);
    expect(res.status).toBe(202);
    const job = await finished(alice, res.body.job_id);
    expect(job).toMatchObject({
      status: 'completed',
      result: { total: 45 },
      cost: { requests: 3, estimated_usd: 0.105 },
    });
    expect(googleCallsFor(kw)).toBe(3);
    expect(await ledgerOf(alice.id)).toEqual(
      Array.from({ length: 3 }, () => ({
        provider: 'google-places',
        sku: SKU,
        usd_micros: String(PAGE_MICROS),
        job_id: job.job_id,
      })),
    );

    const again = await t.http.post('/api/scraper/jobs', body, bob.token);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ cached: true, cost: { requests: 0, estimated_usd: 0 } });
    const bobsJob = await t.http.get(`/api/scraper/jobs/${again.body.job_id}`, bob.token);
    expect(bobsJob.body.cost).toEqual({ requests: 0, estimated_usd: 0 });
    expect(await ledgerOf(bob.id)).toEqual([]);
    expect(googleCallsFor(kw)).toBe(3);

    const list = await t.http.get('/api/scraper/jobs', alice.token);
    expect(list.body.data[0].cost).toEqual({ requests: 3, estimated_usd: 0.105 });

    const status = await t.http.get('/api/rate-limit/status', alice.token);
    expect(status.body.buckets).toEqual(expect.any(Array));
    expect(status.body.spend).toEqual({
      user_id: alice.id,
      role: 'user',
      month: new Date().toISOString().slice(0, 7),
      limit_usd: 1,
      own_budget_usd: null,
      spent_usd: 0.105,
      requests: 3,
      remaining_usd: 0.895,
      renews_at: firstOfNextMonth().toISOString(),
    });
  });

  it('charges only the job that called Google when identical searches run at once', async () => {
    const kw = keyword();
    const users = await Promise.all([createUser(t), createUser(t), createUser(t)]);
    const accepted = await Promise.all(
      users.map((u) =>
        t.http.post(
          '/api/scraper/jobs',
          { keyword: kw, location: 'Bogor', max_results: 40 },
          u.token,
        ),
      ),
    );
    const jobs = await Promise.all(
      accepted.map((res, i) =>
        res.status === 200 ? res.body : finished(users[i], res.body.job_id as string),
      ),
    );
    expect(jobs.every((j) => j.status === 'completed')).toBe(true);
    expect(googleCallsFor(kw)).toBe(2);
    const costs = await Promise.all(
      jobs.map(
        async (j, i) =>
          (await t.http.get(`/api/scraper/jobs/${j.job_id}`, users[i].token)).body.cost,
      ),
    );
    expect(costs.filter((c) => c.requests === 2)).toEqual([{ requests: 2, estimated_usd: 0.07 }]);
    expect(costs.filter((c) => c.requests === 0)).toHaveLength(2);
    const [{ n }] = await db.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM provider_requests WHERE user_id = ANY($1::uuid[])`,
      [users.map((u) => u.id)],
    );
    expect(n).toBe(2);
  });

  it('estimates a search before it runs: pages and price, then 0 once the cache holds it', async () => {
    const user = await createUser(t);
    const body = { keyword: keyword(), location: 'Depok', kecamatan: 'Beji', max_results: 45 };
    const before = fake.requests.length;

    const estimate = await t.http.post('/api/scraper/estimate', body, user.token);
    expect(estimate.status).toBe(200);
    expect(estimate.body).toMatchObject({
      coverage: 'query',
      provider: 'google-places',
      sku: SKU,
      from_cache: false,
      cached_cells: null,
      requests: { min: 1, max: 3 },
      estimated_usd: { min: PAGE_USD, max: 0.105 },
      affordable: true,
      budget: { limit_usd: 1, spent_usd: 0, remaining_usd: 1 },
    });
    // An estimate calls nobody and queues nothing.
    expect(fake.requests.length).toBe(before);
    expect((await t.http.get('/api/scraper/jobs', user.token)).body.meta.total).toBe(0);

    const res = await t.http.post('/api/scraper/jobs', body, user.token);
    await finished(user, res.body.job_id);
    const cached = await t.http.post('/api/scraper/estimate', body, user.token);
    expect(cached.body).toMatchObject({
      from_cache: true,
      requests: { min: 0, max: 0 },
      estimated_usd: { min: 0, max: 0 },
    });
    // refresh: true skips the cache, so it costs again.
    const refresh = await t.http.post(
      '/api/scraper/estimate',
      { ...body, refresh: true },
      user.token,
    );
    expect(refresh.body).toMatchObject({ from_cache: false, requests: { min: 1, max: 3 } });

    // Area coverage: an unresolved kecamatan takes at least its viewport and one cell, at most
    // SCRAPER_AREA_MAX_REQUESTS (50); admitted when its least fits (a running area job stops at
    // the budget).
    const area = await t.http.post(
      '/api/scraper/estimate',
      { ...body, coverage: 'area' },
      user.token,
    );
    expect(area.body).toMatchObject({
      coverage: 'area',
      from_cache: false,
      cached_cells: 0,
      requests: { min: 2, max: 50 },
      estimated_usd: { min: 2 * PAGE_USD, max: 1.75 },
      affordable: true,
    });

    const bad = await t.http.post(
      '/api/scraper/estimate',
      { location: 'Depok', max_results: 500, coverage: 'everywhere' },
      user.token,
    );
    expect(bad.status).toBe(422);
    expect(bad.body.message.join('\n')).toMatch(/keyword/);
    expect(bad.body.message.join('\n')).toMatch(/max_results/);
    expect(bad.body.message.join('\n')).toMatch(/coverage/);
  });

  it('refuses a job whose estimate exceeds what is left with 402, saying what is left and when it renews, before queueing it', async () => {
    const user = await createUser(t);
    expect((await setBudget(user.id, 0.1)).status).toBe(200);
    const kw = keyword();

    const refused = await t.http.post(
      '/api/scraper/jobs',
      { keyword: kw, location: 'Bekasi', max_results: 60 },
      user.token,
    );
    expect(refused.status).toBe(402);
    expect(refused.body.error).toBe('Payment Required');
    expect(refused.body.message).toContain('$0.10 left of $0.10');
    expect(refused.body.message).toContain('up to $0.105');
    expect(refused.body.message).toContain(firstOfNextMonth().toISOString());
    expect((await t.http.get('/api/scraper/jobs', user.token)).body.meta.total).toBe(0);
    expect(googleCallsFor(kw)).toBe(0);
    // The refused request did not use a unit of the hourly quota.
    const quota = (await t.http.get('/api/rate-limit/status', user.token)).body.buckets.find(
      (b: { bucket: string }) => b.bucket === 'scraper',
    );
    expect(quota.used).toBe(0);

    // Two pages ($0.07) fit.
    const fits = await t.http.post(
      '/api/scraper/jobs',
      { keyword: kw, location: 'Bekasi', max_results: 40 },
      user.token,
    );
    expect(fits.status).toBe(202);
    expect(await finished(user, fits.body.job_id)).toMatchObject({
      status: 'completed',
      cost: { requests: 2, estimated_usd: 0.07 },
    });
    const estimate = await t.http.post(
      '/api/scraper/estimate',
      { keyword: keyword(), location: 'Bekasi', max_results: 40 },
      user.token,
    );
    expect(estimate.body).toMatchObject({
      affordable: false,
      budget: { spent_usd: 0.07, remaining_usd: 0.03 },
    });
  });

  it('lets an admin set one user’s budget, and null returns them to the role’s default', async () => {
    const user = await createUser(t, 'premium');
    const set = await setBudget(user.id, 2.5);
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      user_id: user.id,
      role: 'premium',
      limit_usd: 2.5,
      own_budget_usd: 2.5,
      remaining_usd: 2.5,
    });
    expect((await t.http.get('/api/rate-limit/status', user.token)).body.spend.limit_usd).toBe(2.5);

    const reset = await setBudget(user.id, null);
    expect(reset.body).toMatchObject({ limit_usd: 5, own_budget_usd: null });
    expect((await t.http.get('/api/rate-limit/status', user.token)).body.spend.limit_usd).toBe(5);

    // Admins are unlimited by default.
    expect((await t.http.get('/api/rate-limit/status', admin.token)).body.spend).toMatchObject({
      limit_usd: null,
      remaining_usd: null,
    });

    const notAdmin = await t.http.request('PUT', `/api/admin/users/${user.id}/budget`, {
      body: { monthly_budget_usd: 100 },
      token: user.token,
    });
    expect(notAdmin.status).toBe(403);
    expect((await setBudget(randomUUID(), 1)).status).toBe(404);
    for (const body of [
      {},
      { monthly_budget_usd: -1 },
      { monthly_budget_usd: 'lots' },
      { monthly_budget_usd: 1.234 },
    ]) {
      const res = await t.http.request('PUT', `/api/admin/users/${user.id}/budget`, {
        body,
        token: admin.token,
      });
      expect(res.status).toBe(422);
      expect(res.body.message.join('\n')).toMatch(/monthly_budget_usd/);
    }
  });

  it('never lets concurrent reservations of one user exceed the budget (40 at once, repeated)', async () => {
    const spend = t.app.get(SpendService);
    for (let round = 0; round < 5; round++) {
      const user = await createUser(t);
      // $0.25 holds 7 requests at $0.035 (7 × 0.035 = 0.245; an 8th would be 0.28).
      await setBudget(user.id, 0.25);
      const granted = await Promise.all(
        Array.from({ length: 40 }, () => spend.tryReserve(user.id, SKU)),
      );
      expect(granted.filter(Boolean)).toHaveLength(7);
      const budget = await spend.budget(user.id);
      expect(budget.usedMicros).toBe(7 * PAGE_MICROS);
      expect(budget.remainingMicros).toBe(250_000 - 7 * PAGE_MICROS);
    }
  });

  it('stops concurrent jobs of one user at the budget: the ones it cannot pay fail without calling Google', async () => {
    const user = await createUser(t);
    // Each job is admitted on its own ($0.035 of $0.10 left); together only two fit.
    await setBudget(user.id, 0.1);
    const keywords = Array.from({ length: 6 }, keyword);
    const accepted = await Promise.all(
      keywords.map((kw) =>
        t.http.post(
          '/api/scraper/jobs',
          { keyword: kw, location: 'Tangerang', max_results: 20 },
          user.token,
        ),
      ),
    );
    expect(accepted.map((r) => r.status)).toEqual(keywords.map(() => 202));
    const jobs = await Promise.all(accepted.map((r) => finished(user, r.body.job_id as string)));

    const completed = jobs.filter((j) => j.status === 'completed');
    const refused = jobs.filter((j) => j.status === 'failed');
    expect(completed).toHaveLength(2);
    expect(completed.every((j) => j.cost.requests === 1)).toBe(true);
    expect(refused).toHaveLength(4);
    for (const job of refused) {
      expect(job).toMatchObject({ attempts_made: 1, cost: { requests: 0, estimated_usd: 0 } });
      expect(job.error).toMatch(/budget used up.*renews on/);
    }
    expect(keywords.reduce((sum, kw) => sum + googleCallsFor(kw), 0)).toBe(2);
    const spent = (await t.http.get('/api/rate-limit/status', user.token)).body.spend;
    expect(spent).toMatchObject({ spent_usd: 0.07, requests: 2, remaining_usd: 0.03 });
  });

  it('shows spend per provider and per user for today and this month in the admin stats, and on /metrics', async () => {
    const user = await createUser(t);
    const res = await t.http.post(
      '/api/scraper/jobs',
      { keyword: keyword(), location: 'Bandung', max_results: 60 },
      user.token,
    );
    await finished(user, res.body.job_id);

    const stats = await t.http.get('/api/admin/stats', admin.token);
    expect(stats.status).toBe(200);
    const [{ requests, micros }] = await db.query<Array<{ requests: number; micros: string }>>(
      `SELECT count(*)::int AS requests, sum(usd_micros)::bigint AS micros FROM provider_requests`,
    );
    for (const period of ['today', 'month'] as const) {
      const spend = stats.body.spend[period];
      expect(spend.total).toEqual({ requests, usd: Number(micros) / 1e6 });
      expect(spend.by_provider).toEqual([
        { provider: 'google-places', requests, usd: Number(micros) / 1e6 },
      ]);
      expect(spend.by_user).toContainEqual({
        user_id: user.id,
        email: user.email,
        requests: 3,
        usd: 0.105,
      });
    }
    expect(stats.body.spend.month.since).toBe(
      new Date().toISOString().slice(0, 8) + '01T00:00:00.000Z',
    );
    expect((await t.http.get('/api/admin/stats', user.token)).status).toBe(403);

    const metrics = await scrape(t);
    expect(
      metrics.value('gm_scraper_billed_requests_total', { provider: 'google-places', sku: SKU }),
    ).toBe(requests);
    expect(
      metrics.value('gm_scraper_spend_usd_total', { provider: 'google-places', sku: SKU }),
    ).toBeCloseTo(Number(micros) / 1e6, 9);
  });

  it('admits a batch for the sum of its areas: 402 when each fits but not all, nothing stored or counted', async () => {
    const user = await createUser(t);
    // Three pages ($0.105) per area: two areas fit in $0.25, three do not.
    expect((await setBudget(user.id, 0.25)).status).toBe(200);
    const kw = keyword();
    const body = (kecamatan: string[]) => ({
      keyword: kw,
      location: 'Bekasi',
      kecamatan,
      max_results: 60,
    });

    const estimate = await t.http.post('/api/scraper/estimate', body(['A', 'B', 'C']), user.token);
    expect(estimate.status).toBe(200);
    expect(estimate.body).toMatchObject({
      requests: { min: 3, max: 9 },
      estimated_usd: { max: 0.315 },
      affordable: false,
    });

    const refused = await t.http.post('/api/scraper/jobs', body(['A', 'B', 'C']), user.token);
    expect(refused.status).toBe(402);
    expect(refused.body.message).toContain('up to $0.315');
    expect((await t.http.get('/api/scraper/jobs', user.token)).body.meta.total).toBe(0);
    expect((await t.http.get('/api/scraper/batches', user.token)).body.meta.total).toBe(0);
    expect(googleCallsFor(kw)).toBe(0);
    const quota = (await t.http.get('/api/rate-limit/status', user.token)).body.buckets.find(
      (b: { bucket: string }) => b.bucket === 'scraper',
    );
    expect(quota.used).toBe(0);

    const accepted = await t.http.post('/api/scraper/jobs', body(['A', 'B']), user.token);
    expect(accepted.status).toBe(202);
    expect(accepted.body.jobs).toHaveLength(2);
  });

  it('documents the estimate, the budget route, the 402 and every cost and spend field in Swagger', async () => {
    const doc = (await t.http.get('/api/docs-json')).body;
    const ref = (schema: { $ref?: string }) => schema.$ref?.split('/').pop();
    const estimate = doc.paths['/api/scraper/estimate'].post;
    expect(ref(estimate.responses['200'].content['application/json'].schema)).toBe(
      'ScrapeEstimateDto',
    );
    expect(Object.keys(estimate.responses)).toEqual(expect.arrayContaining(['200', '401', '422']));
    expect(Object.keys(doc.paths['/api/scraper/jobs'].post.responses)).toContain('402');
    const budget = doc.paths['/api/admin/users/{id}/budget'].put;
    expect(ref(budget.requestBody.content['application/json'].schema)).toBe('SetBudgetDto');
    expect(Object.keys(budget.responses)).toEqual(expect.arrayContaining(['200', '403', '404']));

    const props = (name: string) => Object.keys(doc.components.schemas[name].properties);
    expect(props('ScrapeEstimateDto')).toEqual(
      expect.arrayContaining([
        'coverage',
        'provider',
        'sku',
        'from_cache',
        'cached_cells',
        'requests',
        'estimated_usd',
        'budget',
        'affordable',
      ]),
    );
    expect(props('ScraperJobDto')).toContain('cost');
    expect(props('ScrapeJobCachedDto')).toContain('cost');
    expect(props('JobCostDto')).toEqual(['requests', 'estimated_usd']);
    expect(props('QuotaStatusDto')).toContain('spend');
    expect(props('AdminStatsDto')).toContain('spend');
    expect(props('SpendPeriodDto')).toEqual(['since', 'total', 'by_provider', 'by_user']);
    expect(props('CreateScrapeJobDto')).toEqual(
      expect.arrayContaining(['coverage', 'bounds', 'polygon']),
    );
  });
});
