import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GooglePlacesClient, polygonContains, type GeoPolygon } from '@app/google-maps';
import { AreaCoverageService } from '../../src/modules/scraper/area/area-coverage.service.js';
import { FakeGooglePlaces } from '../fakes/fake-google-places.js';
import { SyntheticCity, type Rect } from '../fakes/places-city.js';
import { scrapeJobEnded } from '../utils/scraper.js';
import { createTestApp, createUser, type TestApp, type TestUser } from '../utils/test-app.js';

const bodyOf = (r: Rect) => ({
  south_west: { lat: r.sw.lat, lng: r.sw.lng },
  north_east: { lat: r.ne.lat, lng: r.ne.lng },
});

describe('area coverage (coverage: "area") against the fake city', () => {
  const city = new SyntheticCity();
  let fake: FakeGooglePlaces;
  let t: TestApp;
  let keywordSeq = 0;
  const keyword = () => `kopi area ${++keywordSeq} ${Date.now()}`;

  beforeAll(async () => {
    fake = await new FakeGooglePlaces().start();
    fake.city = city;
    t = await createTestApp({
      env: {
        SCRAPER_PROVIDER: 'google-places',
        GOOGLE_MAPS_API_KEY: fake.apiKey,
        GOOGLE_PLACES_API_BASE: fake.url,
        SCRAPER_BACKOFF_MS: '20',
        SCRAPER_RATE_LIMIT_PER_HOUR: '1000',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.stop();
  });
  beforeEach(() => {
    fake.failNext = 0;
  });

  const post = (user: TestUser, body: Record<string, unknown>) =>
    t.http.post('/api/scraper/jobs', { location: 'Jakarta Pusat', ...body }, user.token);
  const finished = (user: TestUser, id: string) => scrapeJobEnded(t, user, id, 30_000);
  const storedIds = async (user: TestUser) => {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await t.http.get(
        `/api/places?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
        user.token,
      );
      ids.push(...page.body.data.map((p: { google_place_id: string }) => p.google_place_id));
      cursor = page.body.meta.next_cursor ?? undefined;
    } while (cursor);
    return ids;
  };

  it('finds every place of a kecamatan exactly once, edge places included, then a second user pays 0 requests', async () => {
    const tebet = city.area('Tebet');
    const expected = city.in(tebet.viewport).map((p) => p.id);
    // The fixture has places exactly on cell edges inside this area.
    const size = (z: number) => 360 / 2 ** z;
    const onEdge = city
      .in(tebet.viewport)
      .filter((p) =>
        [12, 13, 14, 15, 16].some(
          (z) =>
            Number.isInteger((p.lat + 180) / size(z)) || Number.isInteger((p.lng + 180) / size(z)),
        ),
      );
    expect(onEdge.length).toBeGreaterThan(3);

    const kw = keyword();
    const first = await createUser(t);
    const before = fake.billed;
    const res = await post(first, {
      keyword: kw,
      location: 'Jakarta Selatan',
      kecamatan: 'Tebet',
      coverage: 'area',
    });
    expect(res.status).toBe(202);
    const job = await finished(first, res.body.job_id);
    expect(job).toMatchObject({
      status: 'completed',
      coverage: 'area',
      result: {
        total: expected.length,
        inserted: expected.length,
        duplicates: 0,
        coverage: 'complete',
        truncated_reason: null,
      },
    });
    expect(job.result.requests).toBe(fake.billed - before);
    expect(job.result.rectangles.done).toBe(job.result.rectangles.known);
    expect(job.rectangles).toEqual({
      done: job.result.rectangles.known,
      known: job.result.rectangles.known,
    });
    const ids = await storedIds(first);
    expect(ids).toHaveLength(expected.length);
    expect(new Set(ids)).toEqual(new Set(expected));
    // The viewport was resolved by one area query.
    expect(fake.requests.some((r) => r.body.textQuery === 'Kecamatan Tebet, Jakarta Selatan')).toBe(
      true,
    );

    const second = await createUser(t);
    const billed = fake.billed;
    const again = await post(second, {
      keyword: kw.toUpperCase(),
      location: 'Jakarta Selatan',
      kecamatan: 'Tebet',
      coverage: 'area',
    });
    const job2 = await finished(second, again.body.job_id);
    expect(job2.result).toMatchObject({
      total: expected.length,
      inserted: expected.length,
      requests: 0,
      coverage: 'complete',
    });
    expect(fake.billed).toBe(billed);
    expect(new Set(await storedIds(second))).toEqual(new Set(expected));
  });

  it('a dense kecamatan: cells predicted full are split unsearched, and every place is still found exactly once, also by a smaller area inside and one overlapping it', async () => {
    const menteng = city.area('Menteng').viewport;
    const width = menteng.ne.lng - menteng.sw.lng;
    const kw = keyword();
    // Rectangles searched for this keyword: first pages only (one per cell searched).
    const cellsSearched = () =>
      new Set(
        fake.requests
          .filter((r) => r.body.textQuery === kw && !r.body.pageToken)
          .map((r) => JSON.stringify(r.body.locationRestriction)),
      ).size;
    const cover = async (bounds: Rect, textKeyword = kw) => {
      const user = await createUser(t);
      const billed = fake.billed;
      const res = await post(user, {
        keyword: textKeyword,
        coverage: 'area',
        bounds: bodyOf(bounds),
      });
      const job = await finished(user, res.body.job_id);
      const expected = city.in(bounds).map((p) => p.id);
      expect(job.result).toMatchObject({
        total: expected.length,
        coverage: 'complete',
        requests: fake.billed - billed,
      });
      const ids = await storedIds(user);
      expect(ids).toHaveLength(expected.length);
      expect(new Set(ids)).toEqual(new Set(expected));
      return job.result;
    };

    const whole = await cover(menteng);
    expect(whole.rectangles.done).toBe(whole.rectangles.known);
    // Some cells were done without a search: their parent's results said they were full.
    expect(cellsSearched()).toBeLessThan(whole.rectangles.done);

    // Inside: its cells are in the cache (whole, or under an ancestor that was not full) or split.
    const inside: Rect = {
      sw: { lat: menteng.sw.lat + width / 3, lng: menteng.sw.lng + width / 5 },
      ne: { lat: menteng.ne.lat - width / 4, lng: menteng.ne.lng - width / 3 },
    };
    const fresh = await cover(inside, keyword());
    const shared = await cover(inside);
    expect(shared.requests).toBeLessThan(fresh.requests / 2);

    // Overlapping: pays for its part outside Menteng, finds the shared part's places once.
    const overlapping: Rect = {
      sw: { lat: menteng.sw.lat + width / 2, lng: menteng.sw.lng + width / 2 },
      ne: { lat: menteng.ne.lat + width / 2, lng: menteng.ne.lng + width / 2 },
    };
    const alone = await cover(overlapping, keyword());
    const after = await cover(overlapping);
    expect(after.requests).toBeLessThan(alone.requests);
  });

  it('covers given bounds, and a polygon drops the places outside it', async () => {
    const menteng = city.area('Menteng').viewport;
    const mid = {
      lat: (menteng.sw.lat + menteng.ne.lat) / 2,
      lng: (menteng.sw.lng + menteng.ne.lng) / 2,
    };
    const box: Rect = {
      sw: { lat: mid.lat - 0.004, lng: mid.lng - 0.004 },
      ne: { lat: mid.lat + 0.003, lng: mid.lng + 0.005 },
    };
    const user = await createUser(t);
    const kw = keyword();
    const res = await post(user, { keyword: kw, coverage: 'area', bounds: bodyOf(box) });
    const job = await finished(user, res.body.job_id);
    const inBox = city.in(box).map((p) => p.id);
    expect(job.result).toMatchObject({ total: inBox.length, coverage: 'complete' });
    expect(new Set(await storedIds(user))).toEqual(new Set(inBox));

    // A triangle over the same box: only its places; the box's cells are already cached.
    const polygon: GeoPolygon = {
      type: 'Polygon',
      coordinates: [
        [
          [box.sw.lng, box.sw.lat],
          [box.ne.lng, box.sw.lat],
          [box.ne.lng, box.ne.lat],
          [box.sw.lng, box.sw.lat],
        ],
      ],
    };
    const inTriangle = city
      .in(box)
      .filter((p) => polygonContains(polygon, { lat: p.lat, lng: p.lng }));
    expect(inTriangle.length).toBeLessThan(inBox.length);
    const other = await createUser(t);
    const billed = fake.billed;
    const tri = await post(other, { keyword: kw, coverage: 'area', polygon });
    const job2 = await finished(other, tri.body.job_id);
    expect(job2.result).toMatchObject({
      total: inTriangle.length,
      coverage: 'complete',
      requests: 0,
    });
    expect(fake.billed).toBe(billed);
    expect(new Set(await storedIds(other))).toEqual(new Set(inTriangle.map((p) => p.id)));
  });

  it('a retried job does not pay again for the cells it finished', async () => {
    const user = await createUser(t);
    const kw = keyword();
    const tebet = city.area('Tebet');
    // A clean run of the same area with another keyword: what the whole cover costs.
    const clean = await post(user, {
      keyword: keyword(),
      coverage: 'area',
      bounds: bodyOf(tebet.viewport),
    });
    const cost = (await finished(user, clean.body.job_id)).result.requests as number;
    expect(cost).toBeGreaterThan(10);

    // Fail the first attempt after 6 requests (5 succeed, the 6th answers 503).
    let count = 0;
    const billedBefore = fake.billed;
    const original = fake.failNext;
    const watcher = setInterval(() => {
      if (fake.billed - billedBefore >= 5 && count === 0) {
        count = 1;
        fake.failNext = 1;
      }
    }, 0);
    const res = await post(user, { keyword: kw, coverage: 'area', bounds: bodyOf(tebet.viewport) });
    const job = await finished(user, res.body.job_id);
    clearInterval(watcher);
    fake.failNext = original;
    expect(job.status).toBe('completed');
    expect(job.attempts_made).toBe(2);
    expect(job.result).toMatchObject({
      coverage: 'complete',
      total: city.in(tebet.viewport).length,
    });
    // Both attempts together paid about one cover plus the failed request — not a cover and a half.
    const paid = fake.billed - billedBefore;
    expect(paid).toBeLessThan(cost + 4);
    expect(job.result.requests).toBeLessThan(cost);
  });

  it('stops at the depth limit and at the request limit, ending truncated with the reason', async () => {
    const limited = await createTestApp({
      env: {
        SCRAPER_PROVIDER: 'google-places',
        GOOGLE_MAPS_API_KEY: fake.apiKey,
        GOOGLE_PLACES_API_BASE: fake.url,
        SCRAPER_AREA_MAX_DEPTH: '1',
        SCRAPER_AREA_MAX_REQUESTS: '7',
      },
    });
    try {
      const user = await createUser(limited);
      const menteng = city.area('Menteng').viewport;
      const res = await limited.http.post(
        '/api/scraper/jobs',
        {
          keyword: keyword(),
          location: 'Jakarta Pusat',
          coverage: 'area',
          bounds: bodyOf(menteng),
        },
        user.token,
      );
      const job = await scrapeJobEnded(limited, user, res.body.job_id);
      expect(job.result).toMatchObject({
        coverage: 'truncated',
        truncated_reason: 'requests',
        requests: 7,
      });
      expect(job.result.rectangles.done).toBeLessThan(job.result.rectangles.known);
    } finally {
      await limited.close();
    }
    const shallow = await createTestApp({
      env: {
        SCRAPER_PROVIDER: 'google-places',
        GOOGLE_MAPS_API_KEY: fake.apiKey,
        GOOGLE_PLACES_API_BASE: fake.url,
        SCRAPER_AREA_MAX_DEPTH: '0',
      },
    });
    try {
      const user = await createUser(shallow);
      const res = await shallow.http.post(
        '/api/scraper/jobs',
        {
          keyword: keyword(),
          location: 'Jakarta Pusat',
          coverage: 'area',
          bounds: bodyOf(city.area('Menteng').viewport),
        },
        user.token,
      );
      const job = await scrapeJobEnded(shallow, user, res.body.job_id);
      expect(job.result).toMatchObject({ coverage: 'truncated', truncated_reason: 'depth' });
    } finally {
      await shallow.close();
    }
  });

  it("stops a running area job at its owner's monthly budget: truncated (budget), never over it", async () => {
    const admin = await createUser(t, 'admin');
    const user = await createUser(t);
    // Four cell requests ($0.035 each, Text Search Enterprise) fit in $0.16; a fifth would not.
    const budget = await t.http.request('PUT', `/api/admin/users/${user.id}/budget`, {
      body: { monthly_budget_usd: 0.16 },
      token: admin.token,
    });
    expect(budget.status).toBe(200);
    const body = {
      keyword: keyword(),
      coverage: 'area',
      bounds: bodyOf(city.area('Menteng').viewport),
    };
    // Admitted: the least an uncached area costs (its start cells) fits; the most does not.
    const estimate = await t.http.post(
      '/api/scraper/estimate',
      { location: 'Jakarta Pusat', ...body },
      user.token,
    );
    expect(estimate.body.affordable).toBe(true);
    expect(estimate.body.estimated_usd.max).toBeGreaterThan(0.16);

    const billed = fake.billed;
    const res = await post(user, body);
    expect(res.status).toBe(202);
    const job = await finished(user, res.body.job_id);
    expect(job).toMatchObject({
      status: 'completed',
      result: { coverage: 'truncated', truncated_reason: 'budget', requests: 4 },
      cost: { requests: 4, estimated_usd: 0.14 },
    });
    expect(fake.billed - billed).toBe(4);
    const status = (await t.http.get('/api/rate-limit/status', user.token)).body;
    expect(status.spend).toMatchObject({ spent_usd: 0.14, requests: 4 });

    // With less than the least an area costs left, the next one is refused before it is queued.
    const refused = await post(user, { ...body, keyword: keyword() });
    expect(refused.status).toBe(402);
    expect(refused.body.message).toContain('covering this area costs at least');
    expect(fake.billed - billed).toBe(4);
  });

  it('estimates: a range before, 0 requests and from_cache once the area is cached', async () => {
    const service = t.app.get(AreaCoverageService);
    const kw = keyword();
    const bounds = city.area('Cilandak').viewport;
    const before = await service.estimateArea({ keyword: kw, location: 'Jakarta Selatan', bounds });
    expect(before.from_cache).toBe(false);
    expect(before.requests.min).toBeGreaterThanOrEqual(1);
    expect(before.requests.max).toBeGreaterThan(before.requests.min);
    const user = await createUser(t);
    const res = await post(user, { keyword: kw, coverage: 'area', bounds: bodyOf(bounds) });
    const job = await finished(user, res.body.job_id);
    expect(job.result.requests).toBeGreaterThanOrEqual(before.requests.min);
    expect(job.result.requests).toBeLessThanOrEqual(before.requests.max);
    const after = await service.estimateArea({ keyword: kw, location: 'Jakarta Selatan', bounds });
    expect(after).toEqual({
      requests: { min: 0, max: 0 },
      cached_cells: job.result.rectangles.known,
      from_cache: true,
    });
    // A kecamatan whose viewport was never resolved: one request for it, then at least one cell.
    const unknown = await service.estimateArea({
      keyword: kw,
      location: 'Bogor',
      kecamatan: 'Nowhere',
    });
    expect(unknown).toMatchObject({ from_cache: false, requests: { min: 2 } });
  });

  it('answers 422 for bad area requests, each problem named', async () => {
    const user = await createUser(t);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        {
          coverage: 'area',
          bounds: { south_west: { lat: -6.1, lng: 106.8 }, north_east: { lat: -6.2, lng: 106.9 } },
        },
        /south_west.lat must not be north/,
      ],
      [
        {
          coverage: 'area',
          bounds: { south_west: { lat: -96, lng: 106.8 }, north_east: { lat: -6.2 } },
        },
        /lat must not be less than -90|lng must be a number/,
      ],
      [
        {
          coverage: 'area',
          polygon: {
            type: 'Polygon',
            coordinates: [
              [
                [106.8, -6.2],
                [106.9, -6.2],
                [106.9, -6.1],
                [106.8, -6.1],
              ],
            ],
          },
        },
        /not closed/,
      ],
      [
        { coverage: 'area', polygon: { type: 'Point', coordinates: [106.8, -6.2] } },
        /GeoJSON Polygon/,
      ],
      [
        { coverage: 'area', max_results: 2001 },
        /max_results must not be greater than 2000 in area mode/,
      ],
      [{ max_results: 61 }, /max_results must not be greater than 60/],
      [{ coverage: 'everything' }, /coverage must be one of/],
      [
        {
          bounds: { south_west: { lat: -6.2, lng: 106.8 }, north_east: { lat: -6.1, lng: 106.9 } },
        },
        /need coverage "area"/,
      ],
    ];
    for (const [body, message] of cases) {
      const res = await post(user, { keyword: 'kopi', ...body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect([res.body.message].flat().join(' ')).toMatch(message);
    }
  });

  it('the python-api provider answers area mode with 422 naming the provider that serves it', async () => {
    const python = await createTestApp({ env: { SCRAPER_PROVIDER: 'python-api' } });
    try {
      const user = await createUser(python);
      const res = await python.http.post(
        '/api/scraper/jobs',
        { keyword: 'kopi', location: 'Jakarta', kecamatan: 'Tebet', coverage: 'area' },
        user.token,
      );
      expect(res.status).toBe(422);
      expect(res.body.message.join(' ')).toMatch(/google-places provider only.*python-api/);
    } finally {
      await python.close();
    }
  });

  it('streams rectangles done / known in progress events', async () => {
    const user = await createUser(t);
    const res = await post(user, {
      keyword: keyword(),
      coverage: 'area',
      bounds: bodyOf(city.area('Tebet').viewport),
    });
    const stream = await fetch(
      `${t.baseUrl}/api/scraper/jobs/${res.body.job_id}/events?access_token=${user.token}`,
    );
    const text = await stream.text();
    const progress = text
      .split('\n\n')
      .filter((block) => block.includes('event: progress') && block.includes('rectangles'))
      .map((block) =>
        JSON.parse(
          block
            .split('\n')
            .find((l) => l.startsWith('data:'))!
            .slice(5),
        ),
      );
    expect(progress.length).toBeGreaterThan(0);
    const last = progress[progress.length - 1];
    expect(last.rectangles.done).toBe(last.rectangles.known);
    expect(text).toMatch(/event: end/);
  });

  it('the rectangle client sends locationRestriction as low/high and treats 60 as full', async () => {
    const client = new GooglePlacesClient({
      baseUrl: fake.url,
      apiKey: fake.apiKey,
      timeoutMs: 5_000,
    });
    const menteng = city.area('Menteng').viewport;
    fake.requests.length = 0;
    const all = await client.searchRectangle('kopi', menteng);
    expect(all).toMatchObject({ full: true, finished: true, requests: 3 });
    expect(all.places).toHaveLength(60);
    expect(fake.requests[0].body.locationRestriction).toEqual({
      rectangle: {
        low: { latitude: menteng.sw.lat, longitude: menteng.sw.lng },
        high: { latitude: menteng.ne.lat, longitude: menteng.ne.lng },
      },
    });
    const cilandak = city.area('Cilandak').viewport;
    const corner: Rect = {
      sw: cilandak.sw,
      ne: { lat: (cilandak.sw.lat + cilandak.ne.lat) / 2, lng: cilandak.ne.lng },
    };
    expect(city.in(corner).length).toBeLessThan(60);
    const sparse = await client.searchRectangle('kopi', corner);
    expect(sparse).toMatchObject({
      full: false,
      requests: Math.max(1, Math.ceil(city.in(corner).length / 20)),
    });
    expect(sparse.places.map((p) => p.googlePlaceId)).toEqual(city.in(corner).map((p) => p.id));
  });
});
