import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeGooglePlaces } from '../fakes/fake-google-places.js';
import { FakeScraperApi } from '../fakes/fake-scraper-api.js';
import { scrapeJobEnded } from '../utils/scraper.js';
import { createTestApp, createUser, type TestApp, type TestUser } from '../utils/test-app.js';

describe('Scraper provider routing and fallback', () => {
  let python: FakeScraperApi;
  let google: FakeGooglePlaces;

  beforeAll(async () => {
    python = await new FakeScraperApi({ apiKey: 'scraper-test-key' }).start();
    google = await new FakeGooglePlaces().start();
  });
  afterAll(async () => {
    await python?.stop();
    await google?.stop();
  });
  beforeEach(() => {
    python.reset();
    google.requests.length = 0;
    google.failAlways = false;
  });

  const kw = (label: string) => `${label} ${randomUUID().slice(0, 8)}`;
  const googleCallsFor = (keyword: string) =>
    google.requests.filter((r) => String(r.body.textQuery).startsWith(keyword));

  const boot = (env: Record<string, string>) =>
    createTestApp({
      env: {
        PYTHON_SCRAPER_API_URL: python.url,
        PYTHON_SCRAPER_API_KEY: 'scraper-test-key',
        GOOGLE_MAPS_API_KEY: 'fake-google-key',
        GOOGLE_PLACES_API_BASE: google.url,
        SCRAPER_BACKOFF_MS: '20',
        ...env,
      },
    });

  const finished = (t: TestApp, user: TestUser, jobId: string) => scrapeJobEnded(t, user, jobId);

  async function scrape(t: TestApp, user: TestUser, keyword: string) {
    const res = await t.http.post(
      '/api/scraper/jobs',
      { keyword, location: 'Jakarta' },
      user.token,
    );
    expect(res.status).toBe(202);
    return finished(t, user, res.body.job_id);
  }

  describe('users on the Python scraper, premium and admin on Google, Google as the fallback', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await boot({
        SCRAPER_PROVIDER: 'python-api',
        SCRAPER_PROVIDER_PREMIUM: 'google-places',
        SCRAPER_PROVIDER_ADMIN: 'google-places',
        SCRAPER_PROVIDER_FALLBACK: 'google-places',
      });
    });
    afterAll(() => t?.close());

    it('sends each role’s jobs to its provider and records it on the job', async () => {
      const [user, premium, admin] = [
        await createUser(t),
        await createUser(t, 'premium'),
        await createUser(t, 'admin'),
      ];
      const [k1, k2, k3] = [kw('kopi'), kw('kopi'), kw('kopi')];
      expect(await scrape(t, user, k1)).toMatchObject({
        status: 'completed',
        provider: 'python-api',
      });
      expect(await scrape(t, premium, k2)).toMatchObject({
        status: 'completed',
        provider: 'google-places',
        result: { total: 20 },
      });
      expect(await scrape(t, admin, k3)).toMatchObject({
        status: 'completed',
        provider: 'google-places',
      });
      expect(python.callsFor(k1)).toHaveLength(1);
      expect(googleCallsFor(k1)).toHaveLength(0);
      expect(python.callsFor(k2)).toHaveLength(0);
      expect(googleCallsFor(k2)).toHaveLength(1);
      expect(googleCallsFor(k3)).toHaveLength(1);
      const listed = await t.http.get('/api/scraper/jobs', premium.token);
      expect(listed.body.data[0].provider).toBe('google-places');
    });

    it('keeps each provider’s cache to itself: a premium user is not served the Python answer, another user is', async () => {
      const [user, premium, other] = [
        await createUser(t),
        await createUser(t, 'premium'),
        await createUser(t),
      ];
      const keyword = kw('martabak');
      await scrape(t, user, keyword);
      // Same question from a premium user: Google's cache is empty, so Google is asked.
      const fromGoogle = await scrape(t, premium, keyword);
      expect(fromGoogle).toMatchObject({ provider: 'google-places', cached: false });
      expect(googleCallsFor(keyword)).toHaveLength(1);
      // Another user: the Python answer, from the cache.
      const cached = await t.http.post(
        '/api/scraper/jobs',
        { keyword, location: 'Jakarta' },
        other.token,
      );
      expect(cached.status).toBe(200);
      const row = await t.http.get(`/api/scraper/jobs/${cached.body.job_id}`, other.token);
      expect(row.body).toMatchObject({ cached: true, provider: 'python-api' });
      expect(python.callsFor(keyword)).toHaveLength(1);
    });

    it('falls back to Google when the Python scraper answers 5xx, in the same attempt', async () => {
      const user = await createUser(t);
      const keyword = kw('bakso');
      python.failAlways = true;
      const job = await scrape(t, user, keyword);
      expect(job).toMatchObject({
        status: 'completed',
        provider: 'google-places',
        attempts_made: 1,
        error: null,
        result: { total: 20, inserted: 20 },
      });
      expect(python.callsFor(keyword)).toHaveLength(1);
      expect(googleCallsFor(keyword)).toHaveLength(1);
      // The fallback's answer is cached as Google's: the next user whose provider is down is
      // served from it without asking either provider.
      const next = await scrape(t, await createUser(t), keyword);
      expect(next).toMatchObject({ status: 'completed', provider: 'google-places' });
      expect(googleCallsFor(keyword)).toHaveLength(1);
    });

    it('falls back to Google when the Python scraper is unreachable', async () => {
      const user = await createUser(t);
      const keyword = kw('soto');
      const port = Number(new URL(python.url).port);
      await python.stop();
      try {
        const job = await scrape(t, user, keyword);
        expect(job).toMatchObject({
          status: 'completed',
          provider: 'google-places',
          attempts_made: 1,
        });
        expect(googleCallsFor(keyword)).toHaveLength(1);
      } finally {
        await python.start(port);
      }
    });

    it('does not fall back when the provider rejects the request for good (wrong key)', async () => {
      const user = await createUser(t);
      const keyword = kw('nasi');
      python.apiKey = 'rotated';
      try {
        const job = await scrape(t, user, keyword);
        expect(job).toMatchObject({ status: 'failed', attempts_made: 1, provider: null });
        expect(job.error).toMatch(/rejected the API key/);
        expect(googleCallsFor(keyword)).toHaveLength(0);
      } finally {
        python.apiKey = 'scraper-test-key';
      }
    });
  });

  describe('Google first, the Python scraper as the fallback', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await boot({
        SCRAPER_PROVIDER: 'google-places',
        SCRAPER_PROVIDER_FALLBACK: 'python-api',
      });
    });
    afterAll(() => t?.close());

    it('falls back to the Python scraper when Google’s quota is exhausted (429 RESOURCE_EXHAUSTED)', async () => {
      const user = await createUser(t);
      const keyword = kw('gudeg');
      google.failAlways = true;
      const job = await scrape(t, user, keyword);
      expect(job).toMatchObject({
        status: 'completed',
        provider: 'python-api',
        attempts_made: 1,
        result: { total: 20 },
      });
      expect(googleCallsFor(keyword)).toHaveLength(1);
      expect(python.callsFor(keyword)).toHaveLength(1);
    });

    it('falls back on a Google 5xx too, and fails after its attempts when both are down, naming both', async () => {
      const user = await createUser(t);
      google.failAlways = true;
      google.failure = {
        ...google.failure,
        code: 503,
        status: 'UNAVAILABLE',
        message: 'The service is currently unavailable.',
      };
      try {
        const served = await scrape(t, user, kw('rawon'));
        expect(served).toMatchObject({ status: 'completed', provider: 'python-api' });

        const keyword = kw('pempek');
        python.failAlways = true;
        const job = await scrape(t, user, keyword);
        expect(job).toMatchObject({ status: 'failed', attempts_made: 3, provider: null });
        expect(job.error).toMatch(
          /Google Places API answered HTTP 503: UNAVAILABLE.*; fallback python-api failed too: Python scraper API answered HTTP 500/,
        );
        // Each attempt asked its own provider first, then the fallback: 3 each, no more.
        expect(googleCallsFor(keyword)).toHaveLength(3);
        expect(python.callsFor(keyword)).toHaveLength(3);
      } finally {
        google.failure = { ...google.failure, code: 429, status: 'RESOURCE_EXHAUSTED' };
      }
    });
  });

  describe('no fallback configured', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await boot({ SCRAPER_PROVIDER: 'python-api', SCRAPER_PROVIDER_PREMIUM: 'google-places' });
    });
    afterAll(() => t?.close());

    it('fails the job as before when its provider is unavailable, never asking the other', async () => {
      const premium = await createUser(t, 'premium');
      const keyword = kw('ayam');
      google.failAlways = true;
      const job = await scrape(t, premium, keyword);
      expect(job).toMatchObject({ status: 'failed', attempts_made: 3, provider: null });
      expect(job.error).toMatch(/Google Places API answered HTTP 429: RESOURCE_EXHAUSTED/);
      expect(googleCallsFor(keyword)).toHaveLength(3);
      expect(python.callsFor(keyword)).toHaveLength(0);
    });
  });
});
