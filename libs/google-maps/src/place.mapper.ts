import type { Place } from './place.types.js';

const NAME_MAX = 500;
const TEXT_MAX = 2000;

type Json = Record<string, unknown>;

function text(value: unknown, max = TEXT_MAX): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return null;
  const trimmed = value.replace(/\s+/g, ' ').trim();
  return trimmed ? trimmed.slice(0, max) : null;
}

function number(value: unknown): number | null {
  const n =
    typeof value === 'string' && value.trim() !== '' ? Number(value.replace(',', '.')) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

function integer(value: unknown): number | null {
  // "1,234 reviews" and "(1.234)" both mean 1234.
  const n = typeof value === 'string' ? Number(value.replace(/[^\d]/g, '') || NaN) : number(value);
  return n === null || !Number.isFinite(n) ? null : Math.max(0, Math.round(n));
}

function first(source: Json, ...keys: string[]): unknown {
  for (const key of keys) {
    const value = source[key];
    if (value !== undefined && value !== null && value !== '') return value;
  }
  return undefined;
}

function coordinate(value: number | null, limit: number): number | null {
  return value !== null && Math.abs(value) <= limit ? value : null;
}

function rating(value: number | null): number | null {
  return value !== null && value >= 0 && value <= 5 ? Math.round(value * 10) / 10 : null;
}

/**
 * Maps one place from the Python scraper API. Its Selenium and Places-API modes name the
 * fields differently (`title`/`name`, `lat`/`latitude`, `user_ratings_total`/`reviews_count`),
 * so every known spelling is accepted. Returns null for a place without a name.
 */
export function mapPythonPlace(raw: unknown): Place | null {
  if (!raw || typeof raw !== 'object') return null;
  const p = raw as Json;
  const name = text(first(p, 'name', 'title', 'place_name'), NAME_MAX);
  if (!name) return null;
  const geometry = (p.geometry as Json | undefined)?.location as Json | undefined;
  const location = (p.location && typeof p.location === 'object' ? p.location : geometry) as
    Json | undefined;
  const types = Array.isArray(p.types) ? (p.types as unknown[]) : [];
  return {
    name,
    address: text(first(p, 'address', 'formatted_address', 'full_address', 'vicinity')),
    phone: text(
      first(p, 'phone', 'phone_number', 'formatted_phone_number', 'international_phone_number'),
      100,
    ),
    website: text(first(p, 'website', 'website_url', 'url'), TEXT_MAX),
    rating: rating(number(first(p, 'rating', 'stars'))),
    reviewsCount: integer(
      first(p, 'reviews_count', 'review_count', 'user_ratings_total', 'reviews'),
    ),
    category: text(first(p, 'category', 'type', 'main_category') ?? types[0], 200),
    latitude: coordinate(
      number(first(p, 'latitude', 'lat') ?? location?.lat ?? location?.latitude),
      90,
    ),
    longitude: coordinate(
      number(first(p, 'longitude', 'lng', 'lon') ?? location?.lng ?? location?.longitude),
      180,
    ),
    googlePlaceId: text(first(p, 'google_place_id', 'place_id', 'placeId', 'id'), 300),
  };
}

/** Fields requested from Text Search (the field mask also decides the SKU Google bills). */
export const GOOGLE_PLACES_FIELD_MASK = [
  'places.id',
  'places.displayName',
  'places.formattedAddress',
  'places.nationalPhoneNumber',
  'places.internationalPhoneNumber',
  'places.websiteUri',
  'places.rating',
  'places.userRatingCount',
  'places.primaryTypeDisplayName',
  'places.primaryType',
  'places.location',
  'nextPageToken',
].join(',');

/** Maps one place from the Places API (New) Text Search response. */
export function mapGooglePlace(raw: unknown): Place | null {
  if (!raw || typeof raw !== 'object') return null;
  const p = raw as Json;
  const displayName = p.displayName as Json | undefined;
  const name = text(displayName?.text, NAME_MAX);
  if (!name) return null;
  const location = p.location as Json | undefined;
  const typeName = (p.primaryTypeDisplayName as Json | undefined)?.text;
  return {
    name,
    address: text(p.formattedAddress),
    phone: text(p.nationalPhoneNumber ?? p.internationalPhoneNumber, 100),
    website: text(p.websiteUri),
    rating: rating(number(p.rating)),
    reviewsCount: integer(p.userRatingCount),
    category: text(typeName ?? p.primaryType, 200),
    latitude: coordinate(number(location?.latitude), 90),
    longitude: coordinate(number(location?.longitude), 180),
    googlePlaceId: text(p.id, 300),
  };
}
