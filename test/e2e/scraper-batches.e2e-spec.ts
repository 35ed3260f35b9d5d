import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { RedisFanout } from '@app/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeScraperApi } from '../fakes/fake-scraper-api.js';
import { openSse, type SseEvent } from '../utils/sse-client.js';
import {
  createTestApp,
  createUser,
  uniquePrefix,
  waitFor,
  type TestApp,
  type TestUser,
} from '../utils/test-app.js';

describe('Scraper batches: several kecamatan in one request', () => {
  const prefix = uniquePrefix();
  let t: TestApp;
  /** A second API process of the same deployment (same Redis namespace and database). */
  let t2: TestApp;
  let fake: FakeScraperApi;
  let db: DataSource;

  beforeAll(async () => {
    fake = await new FakeScraperApi({ apiKey: 'scraper-test-key' }).start();
    const env = {
      PYTHON_SCRAPER_API_URL: fake.url,
      PYTHON_SCRAPER_API_KEY: 'scraper-test-key',
      SCRAPER_BACKOFF_MS: '20',
      SCRAPER_CONCURRENCY: '4',
      REDIS_KEY_PREFIX: prefix,
    };
    t = await createTestApp({ env });
    t2 = await createTestApp({ env: { ...env, APP_ROLE: 'api' } });
    db = t.app.get(DataSource);
  });
  afterAll(async () => {
    await t2?.close();
    await t?.close();
    await fake?.stop();
  });
  beforeEach(() => fake.reset());

  const kw = (label: string) => `${label} ${randomUUID().slice(0, 8)}`;
  const AREAS = ['Tebet', 'Menteng', 'Setiabudi'];

  async function batchFinished(user: TestUser, batchId: string) {
    return waitFor(
      async () => {
        const res = await t.http.get(`/api/scraper/batches/${batchId}`, user.token);
        return ['completed', 'partially_failed', 'failed'].includes(res.body.status)
          ? res.body
          : undefined;
      },
      { what: `batch ${batchId} to finish` },
    );
  }

  const rowsOf = async (userId: string) => {
    const [{ jobs, batches }] = await db.query<Array<{ jobs: number; batches: number }>>(
      `SELECT (SELECT count(*)::int FROM scraper_jobs WHERE user_id = $1) AS jobs,
              (SELECT count(*)::int FROM scraper_batches WHERE user_id = $1) AS batches`,
      [userId],
    );
    return { jobs, batches };
  };

  it('creates one job per area under a batch (202), one of them from the cache, and aggregates their progress and results', async () => {
    const user = await createUser(t);
    const keyword = kw('kopi');
    // Tebet is asked alone first: the batch then answers it from the cache.
    const single = await t.http.post(
      '/api/scraper/jobs',
      { keyword, location: 'Jakarta Selatan', kecamatan: 'Tebet' },
      user.token,
    );
    expect(single.status).toBe(202);
    await waitFor(async () => {
      const job = (await t.http.get(`/api/scraper/jobs/${single.body.job_id}`, user.token)).body;
      return job.status === 'completed';
    });

    const res = await t.http.post(
      '/api/scraper/jobs',
      { keyword, location: 'Jakarta Selatan', kecamatan: AREAS, max_results: 15 },
      user.token,
    );
    expect(res.status).toBe(202);
    expect(res.headers.get('x-ratelimit-remaining')).toBe('6'); // 1 + 3 areas of 10
    expect(res.body).toEqual({
      batch_id: expect.any(String),
      status: 'processing',
      jobs: [
        {
          job_id: expect.any(String),
          kecamatan: 'Tebet',
          status: 'completed',
          cached: true,
          result: { total: 15, inserted: 0, duplicates: 15 },
        },
        {
          job_id: expect.any(String),
          kecamatan: 'Menteng',
          status: 'queued',
          cached: false,
          result: null,
        },
        {
          job_id: expect.any(String),
          kecamatan: 'Setiabudi',
          status: 'queued',
          cached: false,
          result: null,
        },
      ],
    });

    const batch = await batchFinished(user, res.body.batch_id);
    expect(batch).toMatchObject({
      batch_id: res.body.batch_id,
      status: 'completed',
      progress: 100,
      areas: 3,
      keyword,
      location: 'Jakarta Selatan',
      max_results: 15,
      jobs_by_status: { queued: 0, processing: 0, completed: 3, failed: 0 },
      places: { found: 45, new: 30, duplicates: 15 },
    });
    expect(batch.jobs.map((job: { kecamatan: string }) => job.kecamatan)).toEqual(
      [...AREAS].sort(),
    );
    for (const job of batch.jobs) {
      expect(job).toMatchObject({
        batch_id: res.body.batch_id,
        status: 'completed',
        provider: 'python-api',
        max_results: 15,
      });
    }
    // Each queued area was scraped once, as its own query.
    expect(
      fake
        .callsFor(keyword)
        .map((call) => call.kecamatan)
        .sort(),
    ).toEqual(['Menteng', 'Setiabudi', 'Tebet']);
    const job = await t.http.get(`/api/scraper/jobs/${res.body.jobs[1].job_id}`, user.token);
    expect(job.body).toMatchObject({ batch_id: res.body.batch_id, kecamatan: 'Menteng' });
    const places = await t.http.get(
      `/api/places?keyword=${encodeURIComponent(keyword)}&limit=100`,
      user.token,
    );
    expect(places.body.meta.total).toBe(50); // Tebet's 20 from the single job, 15 + 15 new

    const list = await t.http.get('/api/scraper/batches', user.token);
    expect(list.status).toBe(200);
    expect(list.body.meta.total).toBe(1);
    expect(list.body.data[0]).toMatchObject({
      batch_id: res.body.batch_id,
      status: 'completed',
      places: { found: 45, new: 30, duplicates: 15 },
    });
  });

  it('keeps a plain-string kecamatan a single job, answered exactly as before', async () => {
    const user = await createUser(t);
    const res = await t.http.post(
      '/api/scraper/jobs',
      { keyword: kw('soto'), location: 'Bogor', kecamatan: 'Tanah Sareal' },
      user.token,
    );
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ job_id: expect.any(String), status: 'queued' });
    expect(res.headers.get('x-ratelimit-remaining')).toBe('9');
    expect(await rowsOf(user.id)).toEqual({ jobs: 1, batches: 0 });
  });

  it('reports a batch whose areas partly fail as partially_failed, with the failed job’s error', async () => {
    const user = await createUser(t);
    const keyword = kw('pecel');
    fake.namesByKeyword.set(keyword, ['Pecel Madiun']);
    // The scraper fails every call for one area: the other completes.
    fake.failKecamatan.add('Gambir');
    {
      const res = await t.http.post(
        '/api/scraper/jobs',
        { keyword, location: 'Jakarta Pusat', kecamatan: ['Gambir', 'Sawah Besar'] },
        user.token,
      );
      expect(res.status).toBe(202);
      const batch = await batchFinished(user, res.body.batch_id);
      expect(batch).toMatchObject({
        status: 'partially_failed',
        progress: 100,
        jobs_by_status: { completed: 1, failed: 1 },
        places: { found: 1, new: 1 },
      });
      const failed = batch.jobs.find((job: { kecamatan: string }) => job.kecamatan === 'Gambir');
      expect(failed).toMatchObject({ status: 'failed', attempts_made: 3, provider: null });
      expect(failed.error).toMatch(/Python scraper API answered HTTP 500/);
    }
  });

  describe('events stream', () => {
    const parse = (events: SseEvent[], type: string) =>
      events.filter((e) => e.event === type).map((e) => JSON.parse(e.data));

    it('streams every job’s status and progress with the batch aggregate after each, then end, and closes', async () => {
      const user = await createUser(t);
      fake.latencyMs = 300;
      const res = await t.http.post(
        '/api/scraper/jobs',
        { keyword: kw('bakso'), location: 'Bandung', kecamatan: AREAS },
        user.token,
      );
      const jobIds = res.body.jobs.map((job: { job_id: string }) => job.job_id).sort();
      // Through the API-only process: the events come from the worker over Redis.
      const stream = await openSse(
        `${t2.baseUrl}/api/scraper/batches/${res.body.batch_id}/events?access_token=${user.token}`,
      );
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toMatch(/text\/event-stream/);
      await stream.closed;

      const types = stream.events.map((e) => e.event);
      // The current state first: one status per job, then the aggregate.
      expect(types.slice(0, 4)).toEqual(['status', 'status', 'status', 'batch']);
      expect(types.at(-1)).toBe('end');
      expect(types).toContain('progress');
      const statuses = parse(stream.events, 'status');
      expect([...new Set(statuses.map((s) => s.job_id))].sort()).toEqual(jobIds);
      for (const jobId of jobIds) {
        const own = statuses.filter((s) => s.job_id === jobId).map((s) => s.status);
        expect(own).toContain('processing');
        expect(own.at(-1)).toBe('completed');
      }
      // Every change is followed by the aggregate; it only moves forward.
      for (let i = 4; i < types.length - 1; i++) {
        if (types[i] !== 'batch') expect(types[i + 1]).toBe('batch');
      }
      const aggregates = parse(stream.events, 'batch');
      const done = aggregates.map((a) => a.jobs_by_status.completed);
      expect(done).toEqual([...done].sort((a, b) => a - b));
      expect(aggregates.some((a) => a.status === 'processing')).toBe(true);
      expect(JSON.parse(stream.events.at(-1)!.data)).toMatchObject({
        batch_id: res.body.batch_id,
        status: 'completed',
        progress: 100,
        areas: 3,
        jobs_by_status: { completed: 3 },
        places: { found: 60, new: 60, duplicates: 0 },
      });
      expect(stream.events.at(-1)!.id).toBe('end');
    });

    it('gives a late subscriber the final state and end at once, and a reconnect after end 204', async () => {
      const user = await createUser(t);
      const res = await t.http.post(
        '/api/scraper/jobs',
        { keyword: kw('cilok'), location: 'Garut', kecamatan: ['Tarogong', 'Karangpawitan'] },
        user.token,
      );
      await batchFinished(user, res.body.batch_id);
      const url = `${t.baseUrl}/api/scraper/batches/${res.body.batch_id}/events`;
      const stream = await openSse(url, { authorization: `Bearer ${user.token}` });
      await stream.closed;
      expect(stream.events.map((e) => e.event)).toEqual(['status', 'status', 'batch', 'end']);
      expect(JSON.parse(stream.events[3].data)).toMatchObject({ status: 'completed' });

      const again = await openSse(url, {
        authorization: `Bearer ${user.token}`,
        'last-event-id': 'end',
      });
      await again.closed;
      expect(again.status).toBe(204);
      expect(again.events).toEqual([]);
    });

    it('releases every Redis subscription when the client goes away mid-batch', async () => {
      const user = await createUser(t);
      fake.latencyMs = 2_000;
      const res = await t.http.post(
        '/api/scraper/jobs',
        { keyword: kw('seblak'), location: 'Bandung', kecamatan: AREAS },
        user.token,
      );
      const fanout = t2.app.get(RedisFanout);
      const before = fanout.listenerCount;
      const stream = await openSse(
        `${t2.baseUrl}/api/scraper/batches/${res.body.batch_id}/events?access_token=${user.token}`,
      );
      await stream.until((e) => e.event === 'batch');
      expect(fanout.listenerCount).toBe(before + 3);
      stream.close();
      await waitFor(() => fanout.listenerCount === before, { what: 'the listeners to go' });
    });
  });

  describe('access and validation', () => {
    it('shows a batch, its list and its stream to its owner and admins only', async () => {
      const [owner, other, admin] = [
        await createUser(t),
        await createUser(t),
        await createUser(t, 'admin'),
      ];
      const res = await t.http.post(
        '/api/scraper/jobs',
        { keyword: kw('siomay'), location: 'Bandung', kecamatan: ['Coblong', 'Sukajadi'] },
        owner.token,
      );
      const id = res.body.batch_id as string;
      expect((await t.http.get(`/api/scraper/batches/${id}`, owner.token)).status).toBe(200);
      expect((await t.http.get(`/api/scraper/batches/${id}`, other.token)).status).toBe(404);
      expect((await t.http.get(`/api/scraper/batches/${id}`, admin.token)).status).toBe(200);
      expect((await t.http.get(`/api/scraper/batches/${randomUUID()}`, owner.token)).status).toBe(
        404,
      );
      expect((await t.http.get('/api/scraper/batches/not-a-uuid', owner.token)).status).toBe(422);
      expect((await t.http.get(`/api/scraper/batches/${id}`)).status).toBe(401);
      expect(
        (await t.http.get(`/api/scraper/batches/${id}/events?access_token=${other.token}`)).status,
      ).toBe(404);
      expect((await t.http.get(`/api/scraper/batches/${id}/events`)).status).toBe(401);
      expect((await t.http.get('/api/scraper/batches', other.token)).body.meta.total).toBe(0);
      const all = await t.http.get('/api/scraper/batches?limit=100', admin.token);
      expect(all.body.data.map((b: { batch_id: string }) => b.batch_id)).toContain(id);
    });

    it('answers 422 listing duplicate areas, a list out of 1–50 and non-text areas, charging nothing', async () => {
      const user = await createUser(t);
      const ask = (kecamatan: unknown) =>
        t.http.post(
          '/api/scraper/jobs',
          { keyword: 'kopi', location: 'Depok', kecamatan },
          user.token,
        );

      const duplicates = await ask(['Beji', 'Cimanggis', ' beji ', 'Sukmajaya', 'CIMANGGIS']);
      expect(duplicates.status).toBe(422);
      expect(duplicates.body.message).toContain('kecamatan lists duplicate areas: Beji, Cimanggis');

      const many = await ask(Array.from({ length: 51 }, (_, i) => `Area ${i}`));
      expect(many.status).toBe(422);
      expect(many.body.message).toContain('kecamatan must list 1 to 50 areas (got 51)');
      expect((await ask([])).body.message).toContain('kecamatan must list 1 to 50 areas (got 0)');
      const mixed = await ask(['Beji', 7, '']);
      expect(mixed.status).toBe(422);
      expect(mixed.body.message).toEqual(
        expect.arrayContaining([
          'each value in kecamatan must be a string',
          'kecamatan must not list an empty area',
        ]),
      );
      expect((await ask(['Beji', 'x'.repeat(201)])).body.message).toContain(
        'each value in kecamatan must be shorter than or equal to 200 characters',
      );
      const status = await t.http.get('/api/rate-limit/status', user.token);
      expect(status.body.buckets.find((b: { bucket: string }) => b.bucket === 'scraper').used).toBe(
        0,
      );
      expect(await rowsOf(user.id)).toEqual({ jobs: 0, batches: 0 });
    });
  });

  describe('hourly quota: one unit per area, all or nothing', () => {
    it('refuses a 50-area batch with 10 left (429 with the reset, nothing queued), then takes exactly 10', async () => {
      const user = await createUser(t);
      const keyword = kw('quota');
      const areas = Array.from({ length: 50 }, (_, i) => `Kelurahan ${i + 1}`);
      const over = await t.http.post(
        '/api/scraper/jobs',
        { keyword, location: 'Jakarta', kecamatan: areas },
        user.token,
      );
      expect(over.status).toBe(429);
      expect(over.body.message).toMatch(
        /counts 50 against the hourly scraper quota of 10, which has 10 left; nothing was queued; it resets at \d{2}:00 UTC/,
      );
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(over.headers.get('x-ratelimit-remaining')).toBe('10');
      expect(await rowsOf(user.id)).toEqual({ jobs: 0, batches: 0 });

      const ten = await t.http.post(
        '/api/scraper/jobs',
        { keyword, location: 'Jakarta', kecamatan: areas.slice(0, 10) },
        user.token,
      );
      expect(ten.status).toBe(202);
      expect(ten.body.jobs).toHaveLength(10);
      expect(ten.headers.get('x-ratelimit-remaining')).toBe('0');
      const one = await t.http.post(
        '/api/scraper/jobs',
        { keyword, location: 'Jakarta', kecamatan: 'Kelurahan 50' },
        user.token,
      );
      expect(one.status).toBe(429);
      expect(await rowsOf(user.id)).toEqual({ jobs: 10, batches: 1 });
      await batchFinished(user, ten.body.batch_id);
      expect(fake.callsFor(keyword)).toHaveLength(10);
    });

    const ROUNDS = 5;
    it(`lets exactly the batches that fit through when they arrive at once on two processes (${ROUNDS} rounds)`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const user = await createUser(t);
        const keyword = kw(`race${round}`);
        // 7 batches of 3 areas (21 units) against 10, alternating between the two processes:
        // exactly 3 fit (9 units), whichever arrive first.
        const results = await Promise.all(
          Array.from({ length: 7 }, (_, i) =>
            (i % 2 ? t : t2).http.post(
              '/api/scraper/jobs',
              {
                keyword,
                location: 'Surabaya',
                kecamatan: [`Gubeng ${i}`, `Wonokromo ${i}`, `Tegalsari ${i}`],
              },
              user.token,
            ),
          ),
        );
        const statuses = results.map((r) => r.status).sort();
        expect(statuses, `round ${round}`).toEqual([202, 202, 202, 429, 429, 429, 429]);
        expect(await rowsOf(user.id), `round ${round}`).toEqual({ jobs: 9, batches: 3 });
        const status = await t.http.get('/api/rate-limit/status', user.token);
        expect(
          status.body.buckets.find((b: { bucket: string }) => b.bucket === 'scraper'),
        ).toMatchObject({ used: 9, remaining: 1 });
        // A single job takes the last unit; nothing more fits.
        const last = await Promise.all([
          t.http.post('/api/scraper/jobs', { keyword, location: 'Surabaya' }, user.token),
          t2.http.post(
            '/api/scraper/jobs',
            { keyword, location: 'Surabaya', kecamatan: ['A', 'B'] },
            user.token,
          ),
        ]);
        expect(last.map((r) => r.status)).toEqual([202, 429]);
      }
    });
  });

  it('documents the batch routes and the list form of kecamatan in Swagger', async () => {
    const doc = (await t.http.get('/api/docs-json')).body;
    for (const path of [
      '/api/scraper/batches',
      '/api/scraper/batches/{batch_id}',
      '/api/scraper/batches/{batch_id}/events',
    ])
      expect(Object.keys(doc.paths)).toContain(path);
    const kecamatan = doc.components.schemas.CreateScrapeJobDto.properties.kecamatan;
    expect(kecamatan.oneOf).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'string' }),
        expect.objectContaining({ type: 'array', minItems: 1, maxItems: 50 }),
      ]),
    );
    expect(
      doc.paths['/api/scraper/jobs'].post.responses['202'].content['application/json'].schema.oneOf,
    ).toHaveLength(2);
    expect(Object.keys(doc.components.schemas.ScraperBatchDto.properties)).toEqual(
      expect.arrayContaining(['status', 'progress', 'jobs_by_status', 'places', 'jobs']),
    );
    expect(Object.keys(doc.components.schemas.ScraperJobDto.properties)).toEqual(
      expect.arrayContaining(['batch_id', 'provider']),
    );
  });
});
