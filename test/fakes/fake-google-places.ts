import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { CityPlace, Rect, SyntheticCity } from './places-city.js';

export interface FakeSearchTextRequest {
  body: Record<string, unknown>;
  apiKey: string | undefined;
  fieldMask: string | undefined;
}

/**
 * A stand-in for the Places API (New) Text Search over real HTTP:
 * `POST /v1/places:searchText`, checking `X-Goog-Api-Key` and `X-Goog-FieldMask`, answering
 * pages of up to 20 with `nextPageToken`, and errors shaped like Google's.
 *
 * With a `city` (places-city.ts) it answers from the city's places like the real API:
 * `locationRestriction.rectangle` (`low`/`high`, a closed region), at most 60 results per
 * query in pages of `pageSize` (≤ 20) chained by `nextPageToken`, and a query naming an area
 * ("Kecamatan Menteng, Jakarta Pusat") answered with that area as a place with a `viewport`.
 */
export class FakeGooglePlaces {
  readonly requests: FakeSearchTextRequest[] = [];
  apiKey = 'fake-google-key';
  /** How many places exist for any query (Google stops at 60). */
  totalResults = 45;
  /** Every search answers `failure` (until reset), as Google does once the project's quota is used up. */
  failAlways = false;
  /** The error `failAlways` answers: 429 RESOURCE_EXHAUSTED by default, or e.g. 503 UNAVAILABLE. */
  failure = {
    code: 429,
    status: 'RESOURCE_EXHAUSTED',
    message:
      "Quota exceeded for quota metric 'Text Search requests' and limit 'Text Search requests per minute' of service 'places.googleapis.com'.",
    reason: 'RATE_LIMIT_EXCEEDED',
  };
  /** Answer from this city instead of `totalResults` numbered places. */
  city?: SyntheticCity;
  /** Requests Google would bill: accepted by key and field mask (a failed request is billed too). */
  billed = 0;
  /** Answer this status to the next N billed requests (then normally). */
  failNext = 0;
  failStatus = 503;
  private server?: Server;
  url = '';

  /** Listens on 127.0.0.1, on `port` (0: any free one). */
  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify(body));
    };
    const error = (code: number, status: string, message: string, reason?: string) =>
      send(code, {
        error: {
          code,
          message,
          status,
          ...(reason
            ? {
                details: [
                  {
                    '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
                    reason,
                    domain: 'googleapis.com',
                  },
                ],
              }
            : {}),
        },
      });
    if (req.method !== 'POST' || req.url !== '/v1/places:searchText')
      return error(404, 'NOT_FOUND', 'Not found');
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    const body = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
    const apiKey = req.headers['x-goog-api-key'] as string | undefined;
    const fieldMask = req.headers['x-goog-fieldmask'] as string | undefined;
    this.requests.push({ body, apiKey, fieldMask });

    if (apiKey !== this.apiKey) {
      return error(
        400,
        'INVALID_ARGUMENT',
        'API key not valid. Please pass a valid API key.',
        'API_KEY_INVALID',
      );
    }
    if (this.failAlways) {
      const { code, status, message, reason } = this.failure;
      return error(code, status, message, reason);
    }
    if (!fieldMask) {
      return error(
        400,
        'INVALID_ARGUMENT',
        'FieldMask is a required parameter. See https://cloud.google.com/apis/docs/system-parameters',
      );
    }
    if (typeof body.textQuery !== 'string' || !body.textQuery) {
      return error(400, 'INVALID_ARGUMENT', 'Invalid value at textQuery');
    }
    this.billed++;
    if (this.failNext > 0) {
      this.failNext--;
      return error(this.failStatus, 'UNAVAILABLE', 'The service is currently unavailable.');
    }
    if (this.city) return this.answerFromCity(this.city, body, send, error);
    const pageSize = Math.min(Number(body.pageSize ?? 20) || 20, 20);
    const start =
      typeof body.pageToken === 'string'
        ? Number(Buffer.from(body.pageToken, 'base64url').toString())
        : 0;
    if (!Number.isInteger(start) || start < 0)
      return error(400, 'INVALID_ARGUMENT', 'Invalid page token');
    const total = Math.min(this.totalResults, 60);
    const end = Math.min(start + pageSize, total);
    const places = [];
    for (let i = start; i < end; i++) {
      places.push({
        id: `ChIJ-fake-${i}`,
        displayName: { text: `${body.textQuery} #${i + 1}`, languageCode: 'id' },
        formattedAddress: `Jl. Fake ${i + 1}`,
        nationalPhoneNumber: `(021) ${1000 + i}`,
        websiteUri: `https://fake.example/${i}`,
        rating: 4.2,
        userRatingCount: 100 + i,
        primaryType: 'cafe',
        primaryTypeDisplayName: { text: 'Kafe', languageCode: 'id' },
        location: { latitude: -6.2, longitude: 106.8 },
      });
    }
    send(200, {
      places,
      ...(end < total ? { nextPageToken: Buffer.from(String(end)).toString('base64url') } : {}),
    });
  }

  private answerFromCity(
    city: SyntheticCity,
    body: Record<string, unknown>,
    send: (status: number, body: unknown) => void,
    error: (code: number, status: string, message: string) => void,
  ): void {
    const textQuery = body.textQuery as string;
    const pageSize = Math.min(Math.max(Number(body.pageSize ?? 20) || 20, 1), 20);
    let rect: Rect | undefined;
    const restriction = body.locationRestriction as
      { rectangle?: { low?: Record<string, unknown>; high?: Record<string, unknown> } } | undefined;
    if (restriction) {
      const { low, high } = restriction.rectangle ?? {};
      const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : NaN);
      rect = {
        sw: { lat: n(low?.latitude), lng: n(low?.longitude) },
        ne: { lat: n(high?.latitude), lng: n(high?.longitude) },
      };
      if ([rect.sw.lat, rect.sw.lng, rect.ne.lat, rect.ne.lng].some(Number.isNaN))
        return error(400, 'INVALID_ARGUMENT', 'Invalid locationRestriction.rectangle');
      if (rect.sw.lat > rect.ne.lat)
        return error(
          400,
          'INVALID_ARGUMENT',
          'rectangle.low.latitude cannot be greater than rectangle.high.latitude',
        );
      if (rect.ne.lng - rect.sw.lng > 180)
        return error(
          400,
          'INVALID_ARGUMENT',
          'A rectangle viewport cannot be wider than 180 degrees',
        );
    }
    // A page token is only good for the same request (Google: all other parameters must match).
    const { pageToken, pageSize: _size, ...rest } = body;
    const fingerprint = createHash('sha256')
      .update(JSON.stringify(rest))
      .digest('hex')
      .slice(0, 16);
    let start = 0;
    if (typeof pageToken === 'string') {
      let token: { o?: number; f?: string } = {};
      try {
        token = JSON.parse(Buffer.from(pageToken, 'base64url').toString()) as typeof token;
      } catch {
        // falls through to the error below
      }
      if (token.f !== fingerprint || !Number.isInteger(token.o) || token.o! < 0)
        return error(400, 'INVALID_ARGUMENT', 'Invalid page token');
      start = token.o!;
    }
    const area = rect ? undefined : city.areaNamed(textQuery);
    if (area) {
      return send(200, {
        places: [
          {
            id: area.id,
            displayName: { text: area.kecamatan, languageCode: 'id' },
            formattedAddress: `Kec. ${area.kecamatan}, ${area.location}, Indonesia`,
            viewport: {
              low: { latitude: area.viewport.sw.lat, longitude: area.viewport.sw.lng },
              high: { latitude: area.viewport.ne.lat, longitude: area.viewport.ne.lng },
            },
          },
        ],
      });
    }
    const matches = (rect ? city.in(rect) : city.all()).slice(0, 60);
    const end = Math.min(start + pageSize, matches.length);
    send(200, {
      places: matches.slice(start, end).map((p) => cityPlace(p, textQuery)),
      ...(end < matches.length
        ? {
            nextPageToken: Buffer.from(JSON.stringify({ o: end, f: fingerprint })).toString(
              'base64url',
            ),
          }
        : {}),
    });
  }
}

function cityPlace(p: CityPlace, keyword: string) {
  return {
    id: p.id,
    displayName: { text: `${keyword} ${p.seq}`, languageCode: 'id' },
    formattedAddress: `Jl. Kota No.${p.seq}, Jakarta`,
    nationalPhoneNumber: `(021) ${String(100000 + p.seq)}`,
    rating: 3.5 + (p.seq % 15) / 10,
    userRatingCount: 10 + p.seq,
    primaryType: 'cafe',
    primaryTypeDisplayName: { text: 'Kafe', languageCode: 'id' },
    location: { latitude: p.lat, longitude: p.lng },
  };
}
