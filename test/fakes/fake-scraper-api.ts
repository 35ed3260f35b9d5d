import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeScrapeRequest {
  keyword: string;
  location: string;
  kecamatan: string | null;
  max_results: number;
  apiKey: string | undefined;
  at: number;
}

export interface FakeScraperApiOptions {
  /** The X-API-Key it requires; `null` accepts every request, with a key or without. */
  apiKey?: string | null;
  /** The places of a query (default: `<keyword> place N`, see placesFor). */
  places?: (
    keyword: string,
    location: string,
    kecamatan: string | null,
    max: number,
  ) => Array<Record<string, unknown>>;
}

/** How a /scrape call was answered (for the simulator's console). */
export interface FakeScrapeAnswer {
  status: number;
  places: number;
  error?: string;
}

/**
 * A stand-in for the Python scraper API over real HTTP: `POST /scrape` (X-API-Key) and
 * `GET /health`. Knobs: fail the next N calls with a 5xx, latency, a fixed place list per
 * query, and every call recorded. Places are deterministic per (keyword, location, kecamatan).
 */
export class FakeScraperApi {
  readonly calls: FakeScrapeRequest[] = [];
  apiKey: string | null;
  /** The next N /scrape calls answer 503. */
  failNext = 0;
  /** Every /scrape call answers 500 (until reset). */
  failAlways = false;
  latencyMs = 0;
  /** Every /scrape call for these kecamatan answers 500 (one area of a batch failing). */
  readonly failKecamatan = new Set<string>();
  /** Each /scrape call answers 503 with this probability (0–1), like a scraper hitting a captcha. */
  failureRate = 0;
  /** Called with every /scrape answer. */
  onAnswer?: (call: FakeScrapeRequest, answer: FakeScrapeAnswer) => void;
  /** Places per query when no override matches. */
  placesPerQuery = 20;
  /** Overrides: exact places (`name` list) for a keyword. */
  readonly namesByKeyword = new Map<string, string[]>();
  private server?: Server;
  private readonly sockets = new Set<import('node:net').Socket>();
  url = '';

  constructor(private readonly options: FakeScraperApiOptions = {}) {
    this.apiKey = options.apiKey === undefined ? 'fake-scraper-key' : options.apiKey;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 1000;
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, resolve);
    });
    this.url = `http://${host}:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  reset(): void {
    this.calls.length = 0;
    this.failNext = 0;
    this.failAlways = false;
    this.latencyMs = 0;
    this.failureRate = 0;
    this.placesPerQuery = 20;
    this.namesByKeyword.clear();
    this.failKecamatan.clear();
  }

  callsFor(keyword: string): FakeScrapeRequest[] {
    return this.calls.filter((call) => call.keyword === keyword);
  }

  /** The deterministic places for a query. */
  placesFor(
    keyword: string,
    location: string,
    kecamatan: string | null,
    max: number,
  ): Array<Record<string, unknown>> {
    if (this.options.places && !this.namesByKeyword.has(keyword))
      return this.options.places(keyword, location, kecamatan, max);
    const names =
      this.namesByKeyword.get(keyword) ??
      Array.from({ length: this.placesPerQuery }, (_, i) => `${keyword} place ${i + 1}`);
    return names.slice(0, max).map((name, i) => ({
      name,
      address: `Jl. ${name} No. ${i + 1}, ${kecamatan ? `${kecamatan}, ` : ''}${location}`,
      phone: `+62 21 ${String(1000 + i)}`,
      website: `https://example.com/${encodeURIComponent(name)}`,
      rating: Math.round((3 + ((i * 7) % 20) / 10) * 10) / 10,
      reviews_count: 10 * (i + 1),
      category: 'Cafe',
      latitude: -6.2 + i / 1000,
      longitude: 106.8 + i / 1000,
      place_id: `fake-${keyword}-${i}`.replace(/\s+/g, '-'),
    }));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    if (req.method === 'GET' && req.url === '/health') return send(200, { status: 'healthy' });
    if (req.method !== 'POST' || req.url !== '/scrape') return send(404, { error: 'Not found' });
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return send(400, { success: false, error: 'Invalid JSON' });
    }
    const apiKey = req.headers['x-api-key'] as string | undefined;
    const call: FakeScrapeRequest = {
      keyword: String(body.keyword),
      location: String(body.location),
      kecamatan: (body.kecamatan as string | null) ?? null,
      max_results: Number(body.max_results),
      apiKey,
      at: Date.now(),
    };
    this.calls.push(call);
    const answer = (
      status: number,
      body: { success: boolean; data?: unknown[]; error?: string },
    ) => {
      this.onAnswer?.(call, { status, places: body.data?.length ?? 0, error: body.error });
      send(status, body);
    };
    if (this.latencyMs) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    if (res.destroyed) return;
    if (this.apiKey !== null && apiKey !== this.apiKey)
      return answer(401, { success: false, error: 'Invalid API key' });
    if (typeof body.keyword !== 'string' || typeof body.location !== 'string') {
      return answer(422, { success: false, error: 'keyword and location are required' });
    }
    if (this.failAlways || (call.kecamatan !== null && this.failKecamatan.has(call.kecamatan)))
      return answer(500, { success: false, error: 'Scraper crashed' });
    if (this.failNext > 0) {
      this.failNext--;
      return answer(503, { success: false, error: 'Scraper busy, try again' });
    }
    if (this.failureRate > 0 && Math.random() < this.failureRate) {
      return answer(503, { success: false, error: 'Scraper blocked by a captcha, try again' });
    }
    answer(200, {
      success: true,
      data: this.placesFor(call.keyword, call.location, call.kecamatan, call.max_results),
    });
  }
}
