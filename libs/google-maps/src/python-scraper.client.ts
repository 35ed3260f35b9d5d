import { mapPythonPlace } from './place.mapper.js';
import type { Place, PlaceQuery, PlacesProvider, SearchOptions } from './place.types.js';
import { networkError, ProviderError, withTimeout } from './provider.errors.js';

export interface PythonScraperOptions {
  baseUrl: string;
  apiKey?: string;
  timeoutMs: number;
}

/**
 * The Python scraper API: `POST {base}/scrape` with `X-API-Key`, body
 * `{keyword, location, kecamatan, max_results}` → `{success: true, data: [place, …]}`.
 */
export class PythonScraperClient implements PlacesProvider {
  readonly name = 'python-api' as const;

  constructor(private readonly options: PythonScraperOptions) {}

  async search(query: PlaceQuery, { signal, meter }: SearchOptions = {}): Promise<Place[]> {
    let response: Response;
    meter?.({ provider: this.name, sku: 'python_api.search' });
    try {
      response = await fetch(`${this.options.baseUrl}/scrape`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(this.options.apiKey ? { 'x-api-key': this.options.apiKey } : {}),
        },
        body: JSON.stringify({
          keyword: query.keyword,
          location: query.location,
          kecamatan: query.kecamatan ?? null,
          max_results: query.maxResults,
        }),
        signal: withTimeout(this.options.timeoutMs, signal),
      });
    } catch (error) {
      throw networkError('Python scraper API', error, this.options.timeoutMs);
    }
    const body = await readJson(response, signal, this.options.timeoutMs);
    if (!response.ok) throw httpError(response.status, body);
    if (!body || typeof body !== 'object' || (body as { success?: unknown }).success !== true) {
      const detail = describe(body) ?? 'answered without success: true';
      // The scraper itself failed (page layout changed, captcha): another attempt may work.
      throw new ProviderError(`Python scraper API failed: ${detail}`, true, response.status);
    }
    const data = (body as { data?: unknown }).data;
    if (!Array.isArray(data))
      throw new ProviderError('Python scraper API answered without a data array', true);
    const places: Place[] = [];
    for (const raw of data) {
      const place = mapPythonPlace(raw);
      if (place) places.push(place);
      if (places.length >= query.maxResults) break;
    }
    return places;
  }

  /** `GET {base}/health`: true when the API answers 2xx. */
  async health(signal?: AbortSignal): Promise<boolean> {
    try {
      const response = await fetch(`${this.options.baseUrl}/health`, {
        signal: withTimeout(this.options.timeoutMs, signal),
      });
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }
}

async function readJson(
  response: Response,
  signal: AbortSignal | undefined,
  timeoutMs: number,
): Promise<unknown> {
  try {
    const text = await response.text();
    return text ? (JSON.parse(text) as unknown) : null;
  } catch (error) {
    if (
      signal?.aborted ||
      (error as Error).name === 'TimeoutError' ||
      (error as Error).name === 'AbortError'
    ) {
      throw networkError('Python scraper API', error, timeoutMs);
    }
    return null; // not JSON: the status decides
  }
}

function describe(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as { error?: unknown; message?: unknown; detail?: unknown };
  const value = b.error ?? b.message ?? b.detail;
  return typeof value === 'string'
    ? value
    : value !== undefined
      ? JSON.stringify(value)
      : undefined;
}

function httpError(status: number, body: unknown): ProviderError {
  const detail = describe(body);
  const suffix = detail ? `: ${detail}` : '';
  if (status === 401 || status === 403) {
    return new ProviderError(
      `Python scraper API rejected the API key (HTTP ${status})${suffix}; check PYTHON_SCRAPER_API_KEY`,
      false,
      status,
    );
  }
  if (status === 400 || status === 404 || status === 422) {
    return new ProviderError(
      `Python scraper API rejected the request (HTTP ${status})${suffix}`,
      false,
      status,
    );
  }
  return new ProviderError(`Python scraper API answered HTTP ${status}${suffix}`, true, status);
}
