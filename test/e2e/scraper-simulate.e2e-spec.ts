import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSse } from '../utils/sse-client.js';
import { createTestApp, createUser, waitFor, type TestApp } from '../utils/test-app.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Issue 13: `npm run scraper:simulate` is a stand-in for the Python scraper API that the
 * default configuration reaches — no PYTHON_SCRAPER_API_KEY on either side — and the
 * scraper's walkthrough (search → events → places → export) works against it.
 */
describe('npm run scraper:simulate', () => {
  let simulator: ChildProcess;
  let output = '';
  let url: string;
  let t: TestApp;

  beforeAll(async () => {
    url = `http://127.0.0.1:${await freePort()}`;
    // The script behind `npm run scraper:simulate`, with only the URL moved off :5001.
    simulator = spawn(process.execPath, ['--import', 'tsx', 'test/fakes/scraper-simulate.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        PYTHON_SCRAPER_API_URL: url,
        SCRAPER_SIMULATE_DELAY_MS: '200',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    simulator.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    simulator.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => output.includes('fake Python scraper API on'), {
      timeoutMs: 30_000,
      what: `the simulator to listen: ${output}`,
    });
    // The default configuration: PYTHON_SCRAPER_API_KEY unset.
    t = await createTestApp({ env: { PYTHON_SCRAPER_API_URL: url } });
    expect(t.config.scraper.pythonApiKey).toBeUndefined();
  }, 60_000);
  afterAll(async () => {
    simulator?.kill('SIGTERM');
    await t?.close();
  });

  it('answers health and refuses nothing the default configuration sends', async () => {
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect(output).toMatch(/key not required/);
  });

  it('walks through search → events → places → export with realistic Indonesian places', async () => {
    const user = await createUser(t);
    const query = { keyword: 'coffee shop', location: 'Jakarta Selatan', kecamatan: 'Tebet' };
    const res = await t.http.post('/api/scraper/jobs', { ...query, max_results: 20 }, user.token);
    expect(res.status).toBe(202);
    const jobId = res.body.job_id as string;

    const stream = await openSse(
      `${t.baseUrl}/api/scraper/jobs/${jobId}/events?access_token=${user.token}`,
    );
    const end = await stream.until((e) => e.event === 'end', 20_000);
    expect(JSON.parse(end.data)).toMatchObject({
      status: 'completed',
      result: { total: 20, inserted: 20, duplicates: 0 },
    });
    expect(stream.events.some((e) => e.event === 'progress')).toBe(true);

    const places = await t.http.get(
      '/api/places?kecamatan=Tebet&sort=-rating&limit=50',
      user.token,
    );
    expect(places.status).toBe(200);
    expect(places.body.data).toHaveLength(20);
    for (const place of places.body.data) {
      expect(place.address).toMatch(
        /, Kec\. Tebet, Kota Jakarta Selatan, Daerah Khusus Ibukota Jakarta 12\d{3}$/,
      );
      expect(place.phone).toMatch(/^(\(021\) \d{4}-\d{4}|08\d{2}-\d{4}-\d{4})$/);
      expect(place.rating).toBeGreaterThanOrEqual(3.6);
      expect(place.rating).toBeLessThanOrEqual(4.9);
      expect(place.latitude).toBeCloseTo(-6.26, 1);
      expect(place.longitude).toBeCloseTo(106.81, 1);
      expect(place.category).toBe('Kedai Kopi');
      expect(place.google_place_id).toMatch(/^ChIJ/);
    }

    const csv = await t.http.get('/api/places/export?format=csv&kecamatan=Tebet', user.token);
    expect(csv.status).toBe(200);
    expect(String(csv.body).trim().split(/\r?\n/)).toHaveLength(21); // header + 20 places

    // The same question again: the same places (the simulator is deterministic), from the cache.
    const again = await t.http.post('/api/scraper/jobs', query, user.token);
    expect(again.status).toBe(200);
    expect(again.body.result).toEqual({ total: 20, inserted: 0, duplicates: 20 });
    expect(output).toMatch(
      /scrape "coffee shop" in Tebet, Jakarta Selatan \(max 20\) → 200, 20 places/,
    );
  }, 60_000);

  it('requires the key once PYTHON_SCRAPER_API_KEY is set, and fails the configured share of scrapes with 503', async () => {
    const failing = spawn(process.execPath, ['--import', 'tsx', 'test/fakes/scraper-simulate.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        PYTHON_SCRAPER_API_URL: `http://127.0.0.1:${await freePort()}`,
        PYTHON_SCRAPER_API_KEY: 'a-key-it-requires',
        SCRAPER_SIMULATE_DELAY_MS: '0',
        SCRAPER_SIMULATE_FAILURE_RATE: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    failing.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await waitFor(() => out.includes('fake Python scraper API on'), { timeoutMs: 30_000 });
      const target = out.match(/on (http:\/\/[\d.]+:\d+)/)![1];
      const ask = (key?: string) =>
        fetch(`${target}/scrape`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
          body: JSON.stringify({
            keyword: 'bakso',
            location: 'Bandung',
            kecamatan: null,
            max_results: 5,
          }),
        });
      expect((await ask()).status).toBe(401);
      const busy = await ask('a-key-it-requires');
      expect(busy.status).toBe(503);
      expect(await busy.json()).toMatchObject({ success: false });
      expect(out).toMatch(/key required/);
    } finally {
      failing.kill('SIGTERM');
    }
  }, 60_000);
});
