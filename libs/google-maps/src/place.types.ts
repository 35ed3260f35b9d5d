import type { Meter } from './billing.js';

/** One place as every provider maps it: the shape stored in `google_map_places`. */
export interface Place {
  name: string;
  address: string | null;
  phone: string | null;
  website: string | null;
  rating: number | null;
  reviewsCount: number | null;
  category: string | null;
  latitude: number | null;
  longitude: number | null;
  googlePlaceId: string | null;
}

export interface PlaceQuery {
  keyword: string;
  location: string;
  kecamatan?: string | null;
  /** 1–60; Google's Text Search stops at 60 (three pages of 20). */
  maxResults: number;
}

export interface SearchOptions {
  /** Aborts the whole search (the job's timeout, shutdown). */
  signal?: AbortSignal;
  /** Told of every billed request as it is sent (cost accounting). */
  meter?: Meter;
}

/** A source of places: the Python scraper API or the Google Places API (New). */
export interface PlacesProvider {
  readonly name: 'python-api' | 'google-places';
  search(query: PlaceQuery, options?: SearchOptions): Promise<Place[]>;
}

/** Google's Text Search returns at most 60 results for a query. */
export const MAX_RESULTS_LIMIT = 60;
