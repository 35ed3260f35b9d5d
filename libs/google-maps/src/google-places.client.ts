import { type BillingSku, type Meter, textSearchSku } from './billing.js';
import type { Bounds } from './geo.js';
import { GOOGLE_PLACES_FIELD_MASK, mapGooglePlace } from './place.mapper.js';
import {
  MAX_RESULTS_LIMIT,
  type Place,
  type PlaceQuery,
  type PlacesProvider,
  type SearchOptions,
} from './place.types.js';
import { networkError, ProviderError, withTimeout } from './provider.errors.js';

export interface GooglePlacesOptions {
  /** `https://places.googleapis.com` (tests: a local fake). */
  baseUrl: string;
  apiKey: string;
  /** Per page request. */
  timeoutMs: number;
  languageCode?: string;
  regionCode?: string;
}

/** Text Search answers at most 20 places per page. */
const PAGE_SIZE = 20;
/** …and three pages: 60 places. */
const MAX_PAGES = Math.ceil(MAX_RESULTS_LIMIT / PAGE_SIZE);

/** What each page request of the scraper's field mask is billed as. */
const TEXT_SEARCH_SKU: BillingSku = textSearchSku(GOOGLE_PLACES_FIELD_MASK);

/** Resolving an area (a kecamatan) to its viewport: one place, no contact fields. */
export const AREA_FIELD_MASK =
  'places.id,places.displayName,places.formattedAddress,places.viewport';
const AREA_SKU: BillingSku = textSearchSku(AREA_FIELD_MASK);

/** Asked before every billed request; `false` stops the search (a budget is spent). */
export type AllowRequest = (sku: BillingSku) => Promise<boolean>;

export interface RectangleSearchOptions {
  signal?: AbortSignal;
  meter?: Meter;
  allowRequest?: AllowRequest;
  /** Pages to fetch at most (1–3): a next page beyond them makes the rectangle `full`. */
  maxPages?: number;
}

/** One rectangle's Text Search, every page Google gives (at most 60 places). */
export interface RectangleSearch {
  places: Place[];
  /** Google stopped at its cap (60 places): the rectangle may hold more. */
  full: boolean;
  /** Every page was fetched; false when `allowRequest` refused one. */
  finished: boolean;
  /** Billed requests made. */
  requests: number;
}

/** An area (a kecamatan) as Google knows it. */
export interface ResolvedArea {
  googlePlaceId: string | null;
  name: string | null;
  address: string | null;
  viewport: Bounds;
}

interface GoogleError {
  error?: {
    code?: number;
    message?: string;
    status?: string;
    details?: Array<{ reason?: string }>;
  };
}

/**
 * Places API (New) Text Search: `POST {base}/v1/places:searchText` with `X-Goog-Api-Key`
 * and `X-Goog-FieldMask`, following `nextPageToken` until `maxResults` (≤ 60) are found.
 */
export class GooglePlacesClient implements PlacesProvider {
  readonly name = 'google-places' as const;

  constructor(private readonly options: GooglePlacesOptions) {}

  /** "coffee shop in Menteng, Jakarta Pusat" */
  static textQuery(query: PlaceQuery): string {
    const where = [query.kecamatan, query.location]
      .filter((part) => part && part.trim())
      .join(', ');
    return where ? `${query.keyword} in ${where}` : query.keyword;
  }

  async search(query: PlaceQuery, { signal, meter }: SearchOptions = {}): Promise<Place[]> {
    const wanted = Math.min(Math.max(query.maxResults, 1), MAX_RESULTS_LIMIT);
    const textQuery = GooglePlacesClient.textQuery(query);
    const places: Place[] = [];
    let pageToken: string | undefined;
    // At most three pages: Google stops at 60; the bound also protects from a looping token.
    for (
      let page = 0;
      page < Math.ceil(MAX_RESULTS_LIMIT / PAGE_SIZE) && places.length < wanted;
      page++
    ) {
      const body = await this.page(
        {
          textQuery,
          pageSize: Math.min(PAGE_SIZE, wanted - places.length),
          ...(pageToken ? { pageToken } : {}),
          ...(this.options.languageCode ? { languageCode: this.options.languageCode } : {}),
          ...(this.options.regionCode ? { regionCode: this.options.regionCode } : {}),
        },
        signal,
        meter,
      );
      for (const raw of body.places ?? []) {
        const place = mapGooglePlace(raw);
        if (place) places.push(place);
        if (places.length >= wanted) break;
      }
      pageToken = body.nextPageToken;
      if (!pageToken) break;
    }
    return places;
  }

  /**
   * Every place Google gives for `keyword` restricted to a rectangle (`locationRestriction`, a
   * closed region: a place on its edge is in it): pages of 20 while `nextPageToken` comes,
   * up to Google's cap of 60 — then the rectangle is `full` and may hold more.
   */
  async searchRectangle(
    keyword: string,
    bounds: Bounds,
    { signal, meter, allowRequest, maxPages = MAX_PAGES }: RectangleSearchOptions = {},
  ): Promise<RectangleSearch> {
    const pages = Math.min(Math.max(maxPages, 1), MAX_PAGES);
    const places: Place[] = [];
    let pageToken: string | undefined;
    let requests = 0;
    let full = false;
    for (let page = 0; page < pages; page++) {
      if (allowRequest && !(await allowRequest(TEXT_SEARCH_SKU)))
        return { places, full: false, finished: false, requests };
      requests++;
      const body = await this.page(
        {
          textQuery: keyword,
          pageSize: PAGE_SIZE,
          locationRestriction: {
            rectangle: {
              low: { latitude: bounds.sw.lat, longitude: bounds.sw.lng },
              high: { latitude: bounds.ne.lat, longitude: bounds.ne.lng },
            },
          },
          ...(pageToken ? { pageToken } : {}),
          ...(this.options.languageCode ? { languageCode: this.options.languageCode } : {}),
          ...(this.options.regionCode ? { regionCode: this.options.regionCode } : {}),
        },
        signal,
        meter,
      );
      const raw = body.places ?? [];
      for (const item of raw) {
        const place = mapGooglePlace(item);
        if (place) places.push(place);
      }
      pageToken = body.nextPageToken;
      // At the cap Google answers the third page without a token: the rectangle may hold more.
      if (page === pages - 1 && (pageToken || (page === MAX_PAGES - 1 && raw.length === PAGE_SIZE)))
        full = true;
      if (!pageToken) break;
    }
    return { places, full, finished: true, requests };
  }

  /**
   * An area's viewport: a Text Search for the area itself ("Kecamatan Tebet, Jakarta Selatan"),
   * one result. Null when Google knows no such place, or gives it no viewport.
   */
  async resolveArea(
    textQuery: string,
    { signal, meter }: RectangleSearchOptions = {},
  ): Promise<ResolvedArea | null> {
    const body = await this.page(
      { textQuery, pageSize: 1 },
      signal,
      meter,
      AREA_FIELD_MASK,
      AREA_SKU,
    );
    const raw = (body.places ?? [])[0] as
      | {
          id?: string;
          displayName?: { text?: string };
          formattedAddress?: string;
          viewport?: {
            low?: { latitude?: number; longitude?: number };
            high?: { latitude?: number; longitude?: number };
          };
        }
      | undefined;
    const low = raw?.viewport?.low;
    const high = raw?.viewport?.high;
    const coords = [low?.latitude, low?.longitude, high?.latitude, high?.longitude];
    if (!coords.every((n) => typeof n === 'number' && Number.isFinite(n))) return null;
    return {
      googlePlaceId: raw?.id ?? null,
      name: raw?.displayName?.text ?? null,
      address: raw?.formattedAddress ?? null,
      viewport: {
        sw: { lat: low!.latitude!, lng: low!.longitude! },
        ne: { lat: high!.latitude!, lng: high!.longitude! },
      },
    };
  }

  private async page(
    request: Record<string, unknown>,
    signal?: AbortSignal,
    meter?: Meter,
    fieldMask = GOOGLE_PLACES_FIELD_MASK,
    sku = TEXT_SEARCH_SKU,
  ): Promise<{ places?: unknown[]; nextPageToken?: string }> {
    let response: Response;
    let text: string;
    meter?.({ provider: this.name, sku });
    try {
      response = await fetch(`${this.options.baseUrl}/v1/places:searchText`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-goog-api-key': this.options.apiKey,
          'x-goog-fieldmask': fieldMask,
        },
        body: JSON.stringify(request),
        signal: withTimeout(this.options.timeoutMs, signal),
      });
      text = await response.text();
    } catch (error) {
      throw networkError('Google Places API', error, this.options.timeoutMs);
    }
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      if (response.ok)
        throw new ProviderError(
          'Google Places API answered with malformed JSON',
          true,
          response.status,
        );
    }
    if (!response.ok) throw googleError(response.status, body as GoogleError | null);
    return body ?? {};
  }
}

function googleError(status: number, body: GoogleError | null): ProviderError {
  const error = body?.error;
  const reason = error?.details?.find((detail) => detail.reason)?.reason;
  const detail = [error?.status, reason, error?.message].filter(Boolean).join(' ');
  const suffix = detail ? `: ${detail}` : '';
  // Google answers a wrong key with 400 INVALID_ARGUMENT / API_KEY_INVALID, a key without
  // the API enabled with 403 PERMISSION_DENIED.
  if (reason === 'API_KEY_INVALID' || status === 401 || status === 403) {
    return new ProviderError(
      `Google Places API rejected the API key (HTTP ${status})${suffix}; check GOOGLE_MAPS_API_KEY`,
      false,
      status,
    );
  }
  if (status === 400 || status === 404) {
    return new ProviderError(
      `Google Places API rejected the request (HTTP ${status})${suffix}`,
      false,
      status,
    );
  }
  // 429 RESOURCE_EXHAUSTED, 5xx: worth another attempt after the backoff.
  return new ProviderError(`Google Places API answered HTTP ${status}${suffix}`, true, status);
}
