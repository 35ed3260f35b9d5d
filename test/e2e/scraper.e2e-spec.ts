import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeScraperApi } from '../fakes/fake-scraper-api.js';
import { scrapeJobEnded } from '../utils/scraper.js';
import { openSse } from '../utils/sse-client.js';
import {
  createTestApp,
  createUser,
  waitFor,
  type TestApp,
  type TestUser,
} from '../utils/test-app.js';

describe('Scraper jobs', () => {
  let t: TestApp;
  let fake: FakeScraperApi;
  let db: DataSource;

  beforeAll(async () => {
    fake = await new FakeScraperApi({ apiKey: 'scraper-test-key' }).start();
    t = await createTestApp({
      env: {
        PYTHON_SCRAPER_API_URL: fake.url,
        PYTHON_SCRAPER_API_KEY: 'scraper-test-key',
        SCRAPER_BACKOFF_MS: '20',
        SCRAPER_CONCURRENCY: '4',
      },
    });
    db = t.app.get(DataSource);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.stop();
  });
  beforeEach(() => fake.reset());

  /** A keyword no other test uses, so cache entries and places never meet. */
  const kw = (label: string) => `${label} ${randomUUID().slice(0, 8)}`;

  const finished = (user: TestUser, jobId: string, timeoutMs?: number) =>
    scrapeJobEnded(t, user, jobId, timeoutMs);

  it('queues a job (202), runs it queued → processing → completed, and lists the places', async () => {
    const user = await createUser(t);
    const keyword = kw('kopi');
    fake.latencyMs = 300;
    const res = await t.http.post(
      '/api/scraper/jobs',
      { keyword, location: 'Jakarta Selatan', kecamatan: 'Tebet' },
      user.token,
    );
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ job_id: expect.any(String), status: 'queued' });
    expect(res.headers.get('x-ratelimit-limit')).toBe('10');

    const processing = await waitFor(async () => {
      const job = (await t.http.get(`/api/scraper/jobs/${res.body.job_id}`, user.token)).body;
      return job.status === 'processing' ? job : undefined;
    });
    expect(processing.started_at).toMatch(/Z$/);
    expect(processing.attempts_made).toBe(1);

    const job = await finished(user, res.body.job_id);
    expect(job).toMatchObject({
      status: 'completed',
      progress: 100,
      attempts_made: 1,
      error: null,
      cached: false,
      result: { total: 20, inserted: 20, duplicates: 0 },
    });
    expect(job.finished_at).toMatch(/Z$/);
    expect(fake.callsFor(keyword)).toHaveLength(1);
    expect(fake.callsFor(keyword)[0]).toMatchObject({
      location: 'Jakarta Selatan',
      kecamatan: 'Tebet',
      max_results: 20,
      apiKey: 'scraper-test-key',
    });

    const places = await t.http.get(
      `/api/places?keyword=${encodeURIComponent(keyword)}&limit=100`,
      user.token,
    );
    expect(places.status).toBe(200);
    expect(places.body.meta.total).toBe(20);
    expect(places.body.data[0]).toMatchObject({
      keyword,
      location: 'Jakarta Selatan',
      kecamatan: 'Tebet',
      category: 'Cafe',
    });
    expect(Object.keys(places.body.data[0]).sort()).toEqual(
      [
        'address',
        'category',
        'created_at',
        'google_place_id',
        'id',
        'kecamatan',
        'keyword',
        'latitude',
        'location',
        'longitude',
        'name',
        'phone',
        'rating',
        'reviews_count',
        'website',
      ].sort(),
    );

    const list = await t.http.get('/api/scraper/jobs', user.token);
    expect(list.body.data.map((j: { job_id: string }) => j.job_id)).toContain(res.body.job_id);
    expect(list.body.meta).toMatchObject({ page: 1, limit: 20, total: 1 });
  });

  it('answers the same question in another case and spacing from the cache: 200, no provider call', async () => {
    const user = await createUser(t);
    const keyword = kw('Bakso Malang');
    const first = await t.http.post(
      '/api/scraper/jobs',
      { keyword, location: 'Bandung', kecamatan: 'Coblong', max_results: 10 },
      user.token,
    );
    expect(first.status).toBe(202);
    await finished(user, first.body.job_id);
    expect(fake.calls).toHaveLength(1);

    const again = await t.http.post(
      '/api/scraper/jobs',
      {
        keyword: `  ${keyword.toUpperCase().replace(' ', '   ')} `,
        location: 'BANDUNG ',
        kecamatan: ' coblong',
        max_results: 10,
      },
      user.token,
    );
    expect(again.status).toBe(200);
    expect(again.body).toEqual({
      job_id: expect.any(String),
      status: 'completed',
      cached: true,
      result: { total: 10, inserted: 0, duplicates: 10 },
      cost: { requests: 0, estimated_usd: 0 },
    });
    expect(fake.calls).toHaveLength(1);
    const row = await t.http.get(`/api/scraper/jobs/${again.body.job_id}`, user.token);
    expect(row.body).toMatchObject({ status: 'completed', cached: true, progress: 100 });

    // A smaller request is served from the larger cached one; a larger one is a miss.
    const fewer = await t.http.post(
      '/api/scraper/jobs',
      { keyword, location: 'Bandung', kecamatan: 'Coblong', max_results: 5 },
      user.token,
    );
    expect(fewer.status).toBe(200);
    expect(fewer.body.result.total).toBe(5);
    const more = await t.http.post(
      '/api/scraper/jobs',
      { keyword, location: 'Bandung', kecamatan: 'Coblong', max_results: 20 },
      user.token,
    );
    expect(more.status).toBe(202);
    await finished(user, more.body.job_id);
    expect(fake.calls).toHaveLength(2);
  });

  it('gives another user asking the identical question the places in their own list, from the cache', async () => {
    const [ana, budi] = [await createUser(t), await createUser(t)];
    const keyword = kw('martabak');
    const first = await t.http.post('/api/scraper/jobs', { keyword, location: 'Depok' }, ana.token);
    await finished(ana, first.body.job_id);

    const second = await t.http.post(
      '/api/scraper/jobs',
      { keyword, location: 'Depok' },
      budi.token,
    );
    expect(second.status).toBe(200);
    expect(second.body.result).toEqual({ total: 20, inserted: 20, duplicates: 0 });
    expect(fake.calls).toHaveLength(1);

    const budiPlaces = await t.http.get(
      `/api/places?keyword=${encodeURIComponent(keyword)}`,
      budi.token,
    );
    expect(budiPlaces.body.meta.total).toBe(20);
    const anaPlaces = await t.http.get(
      `/api/places?keyword=${encodeURIComponent(keyword)}`,
      ana.token,
    );
    expect(anaPlaces.body.meta.total).toBe(20);
    const ids = new Set(
      [...budiPlaces.body.data, ...anaPlaces.body.data].map((p: { id: string }) => p.id),
    );
    expect(ids.size).toBe(40);
  });

  it('stores a repeated hit again once the user lost one of its places (deleted by them or an admin)', async () => {
    const [ana, admin] = [await createUser(t), await createUser(t, 'admin')];
    const keyword = kw('gudeg');
    const query = { keyword, location: 'Yogyakarta', kecamatan: 'Gondokusuman' };
    await finished(ana, (await t.http.post('/api/scraper/jobs', query, ana.token)).body.job_id);
    const ask = async () => {
      const res = await t.http.post('/api/scraper/jobs', query, ana.token);
      expect(res.status).toBe(200);
      return res.body.result as { total: number; inserted: number; duplicates: number };
    };
    const stored = async () =>
      (await t.http.get(`/api/places?keyword=${encodeURIComponent(keyword)}&limit=50`, ana.token))
        .body as { meta: { total: number }; data: Array<{ id: string; name: string }> };

    // Asked again and again: all duplicates, never a second row.
    expect(await ask()).toEqual({ total: 20, inserted: 0, duplicates: 20 });
    expect(await ask()).toEqual({ total: 20, inserted: 0, duplicates: 20 });
    expect((await stored()).meta.total).toBe(20);

    const [first, second] = (await stored()).data;
    expect((await t.http.delete(`/api/places/${first.id}`, ana.token)).status).toBe(204);
    expect(await ask()).toEqual({ total: 20, inserted: 1, duplicates: 19 });
    expect(await ask()).toEqual({ total: 20, inserted: 0, duplicates: 20 });
    expect((await stored()).data.map((p) => p.name)).toContain(first.name);

    expect((await t.http.delete(`/api/places/${second.id}`, admin.token)).status).toBe(204);
    expect(await ask()).toEqual({ total: 20, inserted: 1, duplicates: 19 });
    expect((await stored()).meta.total).toBe(20);
    expect(fake.callsFor(keyword)).toHaveLength(1);
  });

  it('refresh: true skips the cache and scrapes again', async () => {
    const user = await createUser(t);
    const keyword = kw('soto');
    await finished(
      user,
      (await t.http.post('/api/scraper/jobs', { keyword, location: 'Solo' }, user.token)).body
        .job_id,
    );
    const refreshed = await t.http.post(
      '/api/scraper/jobs',
      { keyword, location: 'Solo', refresh: true },
      user.token,
    );
    expect(refreshed.status).toBe(202);
    const job = await finished(user, refreshed.body.job_id);
    expect(job.result).toEqual({ total: 20, inserted: 0, duplicates: 20 });
    expect(fake.callsFor(keyword)).toHaveLength(2);
  });

  describe('de-duplication', () => {
    for (const kecamatan of ['Menteng', undefined]) {
      it(`counts overlapping results as duplicates and stores no duplicate row (${kecamatan ? 'with' : 'without'} kecamatan)`, async () => {
        const user = await createUser(t);
        const [k1, k2] = [kw('warung'), kw('warung')];
        fake.namesByKeyword.set(k1, ['Warung Sate', 'Warung Bakso', 'Kopi Tuku']);
        // Overlaps the first (also in another case), and repeats a name within itself.
        fake.namesByKeyword.set(k2, ['warung sate', 'Kopi Tuku', 'Warung Padang', 'Warung Padang']);
        const body = (keyword: string) => ({
          keyword,
          location: 'Jakarta Pusat',
          ...(kecamatan ? { kecamatan } : {}),
        });

        const a = await finished(
          user,
          (await t.http.post('/api/scraper/jobs', body(k1), user.token)).body.job_id,
        );
        expect(a.result).toEqual({ total: 3, inserted: 3, duplicates: 0 });
        const b = await finished(
          user,
          (await t.http.post('/api/scraper/jobs', body(k2), user.token)).body.job_id,
        );
        expect(b.result).toEqual({ total: 4, inserted: 1, duplicates: 3 });

        const rows = await db.query(
          `SELECT lower(name) AS name, count(*)::int AS n FROM google_map_places WHERE user_id = $1 GROUP BY 1 ORDER BY 1`,
          [user.id],
        );
        expect(rows).toEqual([
          { name: 'kopi tuku', n: 1 },
          { name: 'warung bakso', n: 1 },
          { name: 'warung padang', n: 1 },
          { name: 'warung sate', n: 1 },
        ]);
      });
    }

    it('keeps the same name in two kecamatan as two places', async () => {
      const user = await createUser(t);
      const keyword = kw('indomaret');
      fake.namesByKeyword.set(keyword, ['Indomaret']);
      for (const kecamatan of ['Cilandak', 'Pancoran']) {
        const job = await finished(
          user,
          (
            await t.http.post(
              '/api/scraper/jobs',
              { keyword, location: 'Jakarta', kecamatan },
              user.token,
            )
          ).body.job_id,
        );
        expect(job.result).toEqual({ total: 1, inserted: 1, duplicates: 0 });
      }
    });
  });

  describe('retries and failures', () => {
    it('completes after the provider fails twice, with 3 attempts', async () => {
      const user = await createUser(t);
      const keyword = kw('gado gado');
      fake.failNext = 2;
      const res = await t.http.post(
        '/api/scraper/jobs',
        { keyword, location: 'Bogor' },
        user.token,
      );
      const job = await finished(user, res.body.job_id);
      expect(job).toMatchObject({
        status: 'completed',
        attempts_made: 3,
        error: null,
        result: { total: 20, inserted: 20 },
      });
      expect(fake.callsFor(keyword)).toHaveLength(3);
    });

    it('ends failed with the error after 3 attempts when the provider always fails', async () => {
      const user = await createUser(t);
      const keyword = kw('rendang');
      fake.failAlways = true;
      const res = await t.http.post(
        '/api/scraper/jobs',
        { keyword, location: 'Padang' },
        user.token,
      );
      const job = await finished(user, res.body.job_id);
      expect(job.status).toBe('failed');
      expect(job.attempts_made).toBe(3);
      expect(job.error).toMatch(/HTTP 500.*Scraper crashed/);
      expect(job.result).toBeNull();
      expect(fake.callsFor(keyword)).toHaveLength(3);
    });

    it('fails at once, without retrying, when the provider rejects the API key', async () => {
      const user = await createUser(t);
      const keyword = kw('pempek');
      fake.apiKey = 'rotated-key';
      try {
        const res = await t.http.post(
          '/api/scraper/jobs',
          { keyword, location: 'Palembang' },
          user.token,
        );
        const job = await finished(user, res.body.job_id);
        expect(job.status).toBe('failed');
        expect(job.attempts_made).toBe(1);
        expect(job.error).toMatch(/rejected the API key.*PYTHON_SCRAPER_API_KEY/);
        expect(fake.callsFor(keyword)).toHaveLength(1);
      } finally {
        fake.apiKey = 'scraper-test-key';
      }
    });
  });

  describe('events stream', () => {
    it('streams status and progress events, then end, and closes', async () => {
      const user = await createUser(t);
      fake.latencyMs = 400;
      const res = await t.http.post(
        '/api/scraper/jobs',
        { keyword: kw('nasi uduk'), location: 'Bekasi' },
        user.token,
      );
      const stream = await openSse(
        `${t.baseUrl}/api/scraper/jobs/${res.body.job_id}/events?access_token=${user.token}`,
      );
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toMatch(/text\/event-stream/);
      await stream.closed;
      const types = stream.events.map((e) => e.event);
      expect(types.slice(0, 2)).toEqual(['progress', 'status']);
      expect(types.at(-1)).toBe('end');
      expect(types).toContain('progress');
      const statuses = stream.events
        .filter((e) => e.event === 'status')
        .map((e) => JSON.parse(e.data).status);
      expect(statuses).toContain('processing');
      expect(statuses.at(-1)).toBe('completed');
      const progress = stream.events
        .filter((e) => e.event === 'progress')
        .map((e) => JSON.parse(e.data).progress);
      expect(progress).toContain(60);
      expect(JSON.parse(stream.events.at(-1)!.data)).toMatchObject({
        status: 'completed',
        result: { total: 20 },
      });
    });

    it('gives a late subscriber the current state and end at once', async () => {
      const user = await createUser(t);
      const res = await t.http.post(
        '/api/scraper/jobs',
        { keyword: kw('ketoprak'), location: 'Jakarta' },
        user.token,
      );
      await finished(user, res.body.job_id);
      const stream = await openSse(`${t.baseUrl}/api/scraper/jobs/${res.body.job_id}/events`, {
        authorization: `Bearer ${user.token}`,
      });
      await stream.closed;
      expect(stream.events.map((e) => e.event)).toEqual(['progress', 'status', 'end']);
      expect(JSON.parse(stream.events[1].data)).toMatchObject({
        status: 'completed',
        progress: 100,
      });
    });

    it('refuses another user’s stream (404) and a missing token (401)', async () => {
      const [owner, other] = [await createUser(t), await createUser(t)];
      const res = await t.http.post(
        '/api/scraper/jobs',
        { keyword: kw('bubur'), location: 'Jakarta' },
        owner.token,
      );
      expect(
        (
          await t.http.get(
            `/api/scraper/jobs/${res.body.job_id}/events?access_token=${other.token}`,
          )
        ).status,
      ).toBe(404);
      expect((await t.http.get(`/api/scraper/jobs/${res.body.job_id}/events`)).status).toBe(401);
    });
  });

  it('documents every scraper, places and admin route in Swagger, job creation with its quota', async () => {
    const doc = (await t.http.get('/api/docs-json')).body;
    const paths = Object.keys(doc.paths);
    for (const path of [
      '/api/scraper/jobs',
      '/api/scraper/jobs/{job_id}',
      '/api/scraper/jobs/{job_id}/events',
      '/api/places',
      '/api/places/export',
      '/api/places/{id}',
      '/api/admin/queues',
      '/api/admin/queues/{queue}/failed',
      '/api/admin/queues/{queue}/failed/retry',
      '/api/admin/queues/{queue}/jobs/{job_id}/retry',
      '/api/admin/queues/{queue}/pause',
      '/api/admin/queues/{queue}/resume',
      '/api/admin/stats',
    ]) {
      expect(paths, path).toContain(path);
    }
    const create = doc.paths['/api/scraper/jobs'].post;
    expect(Object.keys(create.responses)).toEqual(
      expect.arrayContaining(['200', '202', '422', '429']),
    );
    // 1–60 for one query (the default coverage); coverage "area" goes up to the ceiling.
    expect(doc.components.schemas.CreateScrapeJobDto.properties.max_results).toMatchObject({
      minimum: 1,
      maximum: 30_000,
      description: expect.stringContaining('1–60'),
    });
  });

  describe('access and validation', () => {
    it('shows a job to its owner and admins only', async () => {
      const [owner, other, admin] = [
        await createUser(t),
        await createUser(t),
        await createUser(t, 'admin'),
      ];
      const res = await t.http.post(
        '/api/scraper/jobs',
        { keyword: kw('siomay'), location: 'Bandung' },
        owner.token,
      );
      expect((await t.http.get(`/api/scraper/jobs/${res.body.job_id}`, other.token)).status).toBe(
        404,
      );
      expect((await t.http.get(`/api/scraper/jobs/${res.body.job_id}`, admin.token)).status).toBe(
        200,
      );
      expect((await t.http.get(`/api/scraper/jobs/${randomUUID()}`, owner.token)).status).toBe(404);
      expect((await t.http.get('/api/scraper/jobs', other.token)).body.meta.total).toBe(0);
      expect(
        (await t.http.get('/api/scraper/jobs?limit=100', admin.token)).body.meta.total,
      ).toBeGreaterThan(0);
      expect((await t.http.post('/api/scraper/jobs', { keyword: 'x', location: 'y' })).status).toBe(
        401,
      );
    });

    it('answers 422 naming every bad field, and unknown fields', async () => {
      const user = await createUser(t);
      const res = await t.http.post(
        '/api/scraper/jobs',
        { keyword: '  ', max_results: 61, refresh: 'yes', extra: 1 },
        user.token,
      );
      expect(res.status).toBe(422);
      const message = (res.body.message as string[]).join('\n');
      expect(message).toMatch(/keyword should not be empty/);
      expect(message).toMatch(/location/);
      expect(message).toMatch(/max_results must not be greater than 60/);
      expect(message).toMatch(/refresh must be a boolean/);
      expect(message).toMatch(/property extra should not exist/);
      expect(
        (
          await t.http.post(
            '/api/scraper/jobs',
            { keyword: 'a', location: 'b', max_results: 0 },
            user.token,
          )
        ).status,
      ).toBe(422);
      expect((await t.http.get('/api/scraper/jobs/not-a-uuid', user.token)).status).toBe(422);
    });

    it('answers the 11th job in the hour with 429 and Retry-After; cache hits count, refused bodies do not', async () => {
      const user = await createUser(t);
      const keyword = kw('quota');
      const first = await t.http.post(
        '/api/scraper/jobs',
        { keyword, location: 'Medan' },
        user.token,
      );
      expect(first.status).toBe(202);
      expect(first.headers.get('x-ratelimit-remaining')).toBe('9');
      await finished(user, first.body.job_id);
      // A body refused with 422 gives its unit back.
      expect((await t.http.post('/api/scraper/jobs', { keyword }, user.token)).status).toBe(422);
      const statuses: number[] = [];
      for (let i = 0; i < 9; i++) {
        statuses.push(
          (await t.http.post('/api/scraper/jobs', { keyword, location: 'Medan' }, user.token))
            .status,
        );
      }
      expect(statuses).toEqual(Array(9).fill(200)); // cache hits, each counted
      const last = await t.http.post(
        '/api/scraper/jobs',
        { keyword: kw('other'), location: 'Medan' },
        user.token,
      );
      expect(last.status).toBe(429);
      expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(last.body.message).toMatch(/resets at/);
      expect(fake.callsFor(keyword)).toHaveLength(1);
      // Admins are unlimited.
      const admin = await createUser(t, 'admin');
      for (let i = 0; i < 11; i++) {
        expect(
          (
            await t.http.post(
              '/api/scraper/jobs',
              { keyword: `${keyword} a${i}`, location: 'Medan' },
              admin.token,
            )
          ).status,
        ).toBe(202);
      }
    });
  });
});
