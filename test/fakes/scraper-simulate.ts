/**
 * A local stand-in for the Python scraper API, for trying the scraper by hand without Google
 * or the Python service:
 *   npm run scraper:simulate        # listens where the default PYTHON_SCRAPER_API_URL points (:5001)
 * It speaks the real protocol (POST /scrape with X-API-Key → {success, data}, GET /health) and
 * answers realistic Indonesian places, the same for the same query.
 * Environment (CLI only; read from .env too, like the app): PYTHON_SCRAPER_API_URL
 * (http://127.0.0.1:5001: where to listen), PYTHON_SCRAPER_API_KEY (the key to require; unset,
 * as by default: every request is accepted), SCRAPER_SIMULATE_DELAY_MS (2000: how long a scrape
 * takes), SCRAPER_SIMULATE_FAILURE_RATE (0: share of scrapes answering 503, 0–1).
 */
import { existsSync } from 'node:fs';
import { indonesianPlaces } from './indonesian-places.js';
import { FakeScraperApi } from './fake-scraper-api.js';

if (existsSync('.env')) process.loadEnvFile('.env');
const env = (name: string) => process.env[name]?.trim() || undefined;

const target = new URL(env('PYTHON_SCRAPER_API_URL') ?? 'http://127.0.0.1:5001');
const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
const host = ['localhost', '127.0.0.1', '[::1]'].includes(target.hostname)
  ? '127.0.0.1'
  : '0.0.0.0';
const delayMs = Number(env('SCRAPER_SIMULATE_DELAY_MS') ?? 2000);
const failureRate = Number(env('SCRAPER_SIMULATE_FAILURE_RATE') ?? 0);
if (!Number.isFinite(delayMs) || delayMs < 0)
  throw new Error('SCRAPER_SIMULATE_DELAY_MS: a number ≥ 0');
if (!(failureRate >= 0 && failureRate <= 1))
  throw new Error('SCRAPER_SIMULATE_FAILURE_RATE: a number from 0 to 1');

const fake = new FakeScraperApi({
  apiKey: env('PYTHON_SCRAPER_API_KEY') ?? null,
  places: indonesianPlaces,
});
fake.latencyMs = delayMs;
fake.failureRate = failureRate;
fake.onAnswer = (call, answer) => {
  fake.calls.length = 0; // a long-running simulator keeps no history
  const where = [call.kecamatan, call.location].filter(Boolean).join(', ');
  console.log(
    `scrape "${call.keyword}" in ${where} (max ${call.max_results}) → ${answer.status}` +
      (answer.status === 200 ? `, ${answer.places} places` : `: ${answer.error}`),
  );
};
try {
  await fake.start(port, host);
} catch (error) {
  console.error(`cannot listen on ${host}:${port}: ${(error as Error).message}`);
  process.exit(1);
}
console.log(
  `fake Python scraper API on http://${host}:${port}: POST /scrape, GET /health; ` +
    `key ${fake.apiKey === null ? 'not required (PYTHON_SCRAPER_API_KEY unset)' : 'required (PYTHON_SCRAPER_API_KEY)'}; ` +
    `delay ${delayMs} ms, failure rate ${failureRate}`,
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void fake.stop().then(() => process.exit(0)));
}
