/**
 * A local stand-in for the Google Places API (New) serving the synthetic city
 * (places-city.ts), for trying area coverage by hand without a Google key:
 *   npm run places:simulate      # listens on GOOGLE_PLACES_API_BASE if it is local, else :5002
 * It speaks Text Search as Google does (POST /v1/places:searchText, X-Goog-Api-Key,
 * X-Goog-FieldMask, locationRestriction, pageSize, nextPageToken, the 60-result cap) and
 * knows the kecamatan Menteng (Jakarta Pusat, 2,000 places), Tebet and Cilandak (Jakarta
 * Selatan). Environment (read from .env too): GOOGLE_PLACES_API_BASE, GOOGLE_MAPS_API_KEY
 * (the key it requires; default `fake-google-key`), PLACES_SIMULATE_SEED (the city's seed).
 */
import { existsSync } from 'node:fs';
import { FakeGooglePlaces } from './fake-google-places.js';
import { SyntheticCity } from './places-city.js';

if (existsSync('.env')) process.loadEnvFile('.env');
const env = (name: string) => process.env[name]?.trim() || undefined;

const configured = env('GOOGLE_PLACES_API_BASE');
const target = new URL(
  configured && /^https?:\/\/(127\.0\.0\.1|localhost)/.test(configured)
    ? configured
    : 'http://127.0.0.1:5002',
);
const seed = env('PLACES_SIMULATE_SEED');
const city = new SyntheticCity(seed ? { seed: Number(seed) } : {});
const fake = new FakeGooglePlaces();
fake.city = city;
fake.apiKey = env('GOOGLE_MAPS_API_KEY') ?? 'fake-google-key';
await fake.start(Number(target.port || 80));
let last = 0;
const report = setInterval(() => {
  if (fake.billed === last) return;
  last = fake.billed;
  fake.requests.length = 0; // a long-running simulator keeps no history
  console.log(`${fake.billed} billed requests so far`);
}, 1000);
report.unref();
console.log(
  `fake Places API on ${fake.url} (key "${fake.apiKey}"): ${city.places.length} places; areas ` +
    city.areas
      .map((a) => `${a.kecamatan} (${a.location}, ${city.in(a.viewport).length} places)`)
      .join(', '),
);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void fake.stop().then(() => process.exit(0)));
