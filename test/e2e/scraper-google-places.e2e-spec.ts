import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOGLE_PLACES_FIELD_MASK, GooglePlacesClient, ProviderError } from '@app/google-maps';
import { FakeGooglePlaces } from '../fakes/fake-google-places.js';
import { createTestApp, createUser, waitFor, type TestApp } from '../utils/test-app.js';

describe('Google Places API (New) provider', () => {
  let fake: FakeGooglePlaces;

  beforeAll(async () => {
    fake = await new FakeGooglePlaces().start();
  });
  afterAll(() => fake?.stop());

  const client = (apiKey = fake.apiKey) =>
    new GooglePlacesClient({ baseUrl: fake.url, apiKey, timeoutMs: 5_000 });

  it('follows nextPageToken until max_results, with the key and the field mask on every page', async () => {
    fake.requests.length = 0;
    fake.totalResults = 60;
    const places = await client().search({
      keyword: 'kopi',
      location: 'Jakarta Selatan',
      kecamatan: 'Tebet',
      maxResults: 45,
    });
    expect(places).toHaveLength(45);
    expect(new Set(places.map((p) => p.googlePlaceId)).size).toBe(45);
    expect(fake.requests).toHaveLength(3);
    expect(fake.requests.map((r) => r.body.pageSize)).toEqual([20, 20, 5]);
    expect(fake.requests[0].body.pageToken).toBeUndefined();
    expect(fake.requests[1].body.pageToken).toEqual(expect.any(String));
    expect(fake.requests.every((r) => r.body.textQuery === 'kopi in Tebet, Jakarta Selatan')).toBe(
      true,
    );
    expect(
      fake.requests.every(
        (r) => r.apiKey === fake.apiKey && r.fieldMask === GOOGLE_PLACES_FIELD_MASK,
      ),
    ).toBe(true);
    expect(GOOGLE_PLACES_FIELD_MASK).toContain('nextPageToken');
    expect(places[0]).toEqual({
      name: 'kopi in Tebet, Jakarta Selatan #1',
      address: 'Jl. Fake 1',
      phone: '(021) 1000',
      website: 'https://fake.example/0',
      rating: 4.2,
      reviewsCount: 100,
      category: 'Kafe',
      latitude: -6.2,
      longitude: 106.8,
      googlePlaceId: 'ChIJ-fake-0',
    });
  });

  it('stops when Google has no more pages, and never asks beyond 60', async () => {
    fake.requests.length = 0;
    fake.totalResults = 25;
    expect(
      await client().search({ keyword: 'bakso', location: 'Bogor', maxResults: 60 }),
    ).toHaveLength(25);
    expect(fake.requests).toHaveLength(2);
    fake.requests.length = 0;
    fake.totalResults = 60;
    expect(
      await client().search({ keyword: 'bakso', location: 'Bogor', maxResults: 100 }),
    ).toHaveLength(60);
    expect(fake.requests).toHaveLength(3);
  });

  it('classifies a wrong API key (400 API_KEY_INVALID) as final, naming the variable to fix', async () => {
    const error = await client('wrong-key')
      .search({ keyword: 'x', location: 'y', maxResults: 5 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(false);
    expect((error as ProviderError).message).toMatch(/API_KEY_INVALID.*GOOGLE_MAPS_API_KEY/);
  });

  it('classifies an unreachable API as retryable', async () => {
    const gone = new GooglePlacesClient({
      baseUrl: 'http://127.0.0.1:1',
      apiKey: 'k',
      timeoutMs: 1_000,
    });
    const error = (await gone
      .search({ keyword: 'x', location: 'y', maxResults: 5 })
      .catch((e: unknown) => e)) as ProviderError;
    expect(error.retryable).toBe(true);
  });

  describe('through the app (SCRAPER_PROVIDER=google-places)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({
        env: {
          SCRAPER_PROVIDER: 'google-places',
          GOOGLE_MAPS_API_KEY: 'fake-google-key',
          GOOGLE_PLACES_API_BASE: fake.url,
          SCRAPER_BACKOFF_MS: '20',
        },
      });
    });
    afterAll(() => t?.close());

    it('scrapes 45 places over three pages and stores them', async () => {
      fake.totalResults = 60;
      const user = await createUser(t);
      const res = await t.http.post(
        '/api/scraper/jobs',
        { keyword: 'sate', location: 'Jakarta', max_results: 45 },
        user.token,
      );
      expect(res.status).toBe(202);
      const job = await waitFor(async () => {
        const j = (await t.http.get(`/api/scraper/jobs/${res.body.job_id}`, user.token)).body;
        return j.status === 'completed' || j.status === 'failed' ? j : undefined;
      });
      expect(job).toMatchObject({
        status: 'completed',
        result: { total: 45, inserted: 45, duplicates: 0 },
      });
      const places = await t.http.get('/api/places?limit=1&sort=name', user.token);
      expect(places.body.meta.total).toBe(45);
      expect(places.body.data[0]).toMatchObject({
        google_place_id: expect.stringMatching(/^ChIJ-fake-/),
        category: 'Kafe',
      });
    });

    it('fails a job at once when Google rejects the key', async () => {
      const user = await createUser(t);
      fake.apiKey = 'rotated';
      try {
        const res = await t.http.post(
          '/api/scraper/jobs',
          { keyword: 'nasi', location: 'Jakarta' },
          user.token,
        );
        const job = await waitFor(async () => {
          const j = (await t.http.get(`/api/scraper/jobs/${res.body.job_id}`, user.token)).body;
          return j.status === 'failed' ? j : undefined;
        });
        expect(job.attempts_made).toBe(1);
        expect(job.error).toMatch(/rejected the API key/);
      } finally {
        fake.apiKey = 'fake-google-key';
      }
    });
  });
});
