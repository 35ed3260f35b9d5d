import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSearchTextRequest {
  body: Record<string, unknown>;
  apiKey: string | undefined;
  fieldMask: string | undefined;
}

/**
 * A stand-in for the Places API (New) Text Search over real HTTP:
 * `POST /v1/places:searchText`, checking `X-Goog-Api-Key` and `X-Goog-FieldMask`, answering
 * pages of up to 20 with `nextPageToken`, and errors shaped like Google's.
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
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
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
}
