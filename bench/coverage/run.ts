/**
 * bench:coverage — area coverage against the fake Places API city (test/fakes/places-city.ts).
 *
 * Covers the kecamatan "Menteng, Jakarta Pusat" (a viewport holding 2,000 of the city's places,
 * in its dense centre) with one `coverage: "area"` job on the compiled service, then asks the
 * same question as another user. Prints found / unique / billed requests against the ideal
 * partition (one 20-place page per 20 places: ceil(places / 20)), and the repeat's requests.
 * Targets (issue #9): 100 % found, none twice, ≤ 2× the ideal requests; the repeat 0 requests.
 * Request counts do not depend on the machine's load; the wall-clock figures do (load printed).
 *
 *   npm run bench:coverage            # builds if needed; BENCH_KEEP_DATA=1 keeps the database
 */
import { FakeGooglePlaces } from '../../test/fakes/fake-google-places.js';
import { SyntheticCity } from '../../test/fakes/places-city.js';
import { printTable, writeResults } from '../lib/report.js';
import { buildIfNeeded, loadAverage, runBenchmark } from '../lib/services.js';

const KECAMATAN = 'Menteng';
const LOCATION = 'Jakarta Pusat';

await runBenchmark('coverage', async (env) => {
  buildIfNeeded();
  const city = new SyntheticCity();
  const area = city.area(KECAMATAN);
  const expected = new Set(city.in(area.viewport).map((p) => p.id));
  const fake = await new FakeGooglePlaces().start();
  fake.city = city;
  try {
    const api = await env.startApi({
      role: 'all',
      env: {
        SCRAPER_PROVIDER: 'google-places',
        GOOGLE_MAPS_API_KEY: fake.apiKey,
        GOOGLE_PLACES_API_BASE: fake.url,
        LOG_LEVEL: 'warn',
      },
    });
    const call = async (method: string, path: string, body?: unknown, token?: string) => {
      const res = await fetch(`${api.url}${path}`, {
        method,
        headers: {
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return JSON.parse(text);
    };
    const user = async (name: string) =>
      (
        await call('POST', '/api/auth/register', {
          email: `${name}-${Date.now()}@bench.example`,
          password: 'bench-password-123',
          name,
        })
      ).access_token as string;

    const run = async (token: string) => {
      const billed = fake.billed;
      const started = performance.now();
      const { job_id } = await call(
        'POST',
        '/api/scraper/jobs',
        { keyword: 'kopi', location: LOCATION, kecamatan: KECAMATAN, coverage: 'area' },
        token,
      );
      let job: any;
      for (;;) {
        job = await call('GET', `/api/scraper/jobs/${job_id}`, undefined, token);
        if (job.status === 'completed' || job.status === 'failed') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const seconds = (performance.now() - started) / 1000;
      if (job.status !== 'completed') throw new Error(`job failed: ${job.error}`);
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await call(
          'GET',
          `/api/places?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
          undefined,
          token,
        );
        ids.push(...page.data.map((p: { google_place_id: string }) => p.google_place_id));
        cursor = page.meta.next_cursor ?? null;
      } while (cursor);
      return { job, ids, billed: fake.billed - billed, seconds };
    };

    const first = await run(await user('first'));
    const second = await run(await user('second'));
    const ideal = Math.ceil(expected.size / 20);
    const unique = new Set(first.ids);
    const foundInArea = [...unique].filter((id) => expected.has(id)).length;
    const ratio = first.billed / ideal;
    const rows = [
      {
        run: 'first user',
        places_in_area: expected.size,
        found: first.job.result.total,
        unique: unique.size,
        stored_twice: first.ids.length - unique.size,
        found_pct: `${((foundInArea / expected.size) * 100).toFixed(1)} %`,
        billed_requests: first.billed,
        ideal_requests: ideal,
        ratio: `${ratio.toFixed(2)}×`,
        cells: `${first.job.result.rectangles.done} (${first.job.result.rectangles.cached} cached)`,
        seconds: first.seconds.toFixed(1),
      },
      {
        run: 'same search, other user',
        places_in_area: expected.size,
        found: second.job.result.total,
        unique: new Set(second.ids).size,
        stored_twice: second.ids.length - new Set(second.ids).size,
        found_pct: `${((second.ids.filter((id) => expected.has(id)).length / expected.size) * 100).toFixed(1)} %`,
        billed_requests: second.billed,
        ideal_requests: 0,
        ratio: '',
        cells: `${second.job.result.rectangles.done} (${second.job.result.rectangles.cached} cached)`,
        seconds: second.seconds.toFixed(1),
      },
    ];
    printTable(`bench:coverage — ${KECAMATAN}, ${LOCATION} (load ${loadAverage()})`, rows);
    const targets = [
      [
        '100 % found, none twice',
        foundInArea === expected.size && first.ids.length === unique.size,
      ],
      ['requests ≤ 2× ideal', ratio <= 2],
      ['repeat by another user: 0 billed requests', second.billed === 0],
    ] as const;
    for (const [name, ok] of targets) console.log(`${ok ? 'MET    ' : 'NOT MET'}  ${name}`);
    console.log(`results: ${writeResults('coverage', { rows, targets, load: loadAverage() })}`);
  } finally {
    await fake.stop();
  }
});
