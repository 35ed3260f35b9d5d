import { type BillingSku, type Meter, textSearchSku } from './billing.js';
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

/** What each page request of the scraper's field mask is billed as. */
const TEXT_SEARCH_SKU: BillingSku = textSearchSku(GOOGLE_PLACES_FIELD_MASK);

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

  private async page(
    request: Record<string, unknown>,
    signal?: AbortSignal,
    meter?: Meter,
  ): Promise<{ places?: unknown[]; nextPageToken?: string }> {
    let response: Response;
    let text: string;
    meter?.({ provider: this.name, sku: TEXT_SEARCH_SKU });
    try {
      response = await fetch(`${this.options.baseUrl}/v1/places:searchText`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-goog-api-key': this.options.apiKey,
          'x-goog-fieldmask': GOOGLE_PLACES_FIELD_MASK,
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
