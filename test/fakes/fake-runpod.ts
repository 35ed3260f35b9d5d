import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake received. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
  at: number;
}

export interface FakeRunpodOptions {
  /** Where the "worker" posts its log lines (the backend's /api/crawler/log). */
  webhookUrl?: string;
  /** X-API-Key it sends with them. */
  webhookApiKey?: string;
  /** Serverless: the endpoint id and the Bearer key it accepts. */
  endpointId?: string;
  apiKey?: string;
  /** Play a realistic run of log lines for every job it receives (default false: tests post lines themselves). */
  playRun?: boolean;
  /** Delay between played lines, ms. */
  lineDelayMs?: number;
  /** Pod mode: answer only once the run has been played (as a pod that works synchronously), else at once. */
  answerWhenDone?: boolean;
}

/**
 * A stand-in for RunPod over real HTTP. Pod mode: `POST /process`. Serverless mode:
 * `POST /:endpointId/run` and `POST /:endpointId/cancel/:runId` with a Bearer key. Knobs for
 * tests: fail the next N calls with a status, fail every call, hang, and every request recorded.
 */
export class FakeRunpod {
  readonly requests: RecordedRequest[] = [];
  readonly cancelled: string[] = [];
  /** Fail this many upcoming /process or /run calls with `failStatus`. */
  failNext = 0;
  failStatus = 503;
  /** Fail every /process or /run call with this status (null: don't). */
  failAlways: number | null = null;
  /** Hold /process and /run calls without answering until `release()`. */
  hang = false;
  private held: Array<() => void> = [];
  private server: Server | null = null;
  url = '';

  constructor(readonly options: FakeRunpodOptions = {}) {}

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, host, resolve));
    this.url = `http://${host}:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    this.release();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  /** Answers every held request. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const answer of held) answer();
  }

  /** Job requests (pod /process or serverless /run) received so far. */
  get jobRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path === '/process' || r.path.endsWith('/run'));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: any = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      return send(res, 400, { error: 'malformed JSON' });
    }
    const path = (req.url ?? '/').split('?')[0];
    this.requests.push({
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      body,
      at: Date.now(),
    });

    if (req.method === 'GET' && path === '/health') return send(res, 200, { status: 'ok' });
    if (req.method !== 'POST') return send(res, 404, { error: 'not found' });

    const serverless = /^\/([^/]+)\/(run|cancel\/([^/]+))$/.exec(path);
    if (serverless) {
      if (this.options.endpointId && serverless[1] !== this.options.endpointId)
        return send(res, 404, { error: 'unknown endpoint' });
      if (req.headers.authorization !== `Bearer ${this.options.apiKey ?? ''}`)
        return send(res, 401, { error: 'Unauthorized' });
      if (serverless[3]) {
        this.cancelled.push(decodeURIComponent(serverless[3]));
        return send(res, 200, { id: serverless[3], status: 'CANCELLED' });
      }
      const input = body?.input;
      if (!input?.job_id) return send(res, 400, { error: 'input.job_id required' });
      return this.answerJob(res, input, () => ({ id: `run-${randomUUID()}`, status: 'IN_QUEUE' }));
    }
    if (path === '/process') {
      if (!body?.job_id || typeof body.data !== 'string')
        return send(res, 400, { error: 'data and job_id required' });
      return this.answerJob(res, body, (domains) => ({ status: 'success', domains }));
    }
    return send(res, 404, { error: 'not found' });
  }

  private async answerJob(
    res: ServerResponse,
    input: { data: string; num_domains: number; job_id: string },
    answer: (domains: string[]) => Record<string, unknown>,
  ): Promise<void> {
    if (this.hang) await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.failAlways !== null)
      return send(res, this.failAlways, { error: `injected ${this.failAlways}` });
    if (this.failNext > 0) {
      this.failNext--;
      return send(res, this.failStatus, { error: `injected ${this.failStatus}` });
    }
    const domains = fakeDomains(input.data, Number(input.num_domains) || 1);
    const run = this.options.playRun
      ? this.playRun(input.job_id, input.data, domains)
      : Promise.resolve();
    if (this.options.answerWhenDone) await run;
    else run.catch(() => undefined);
    send(res, 200, answer(domains));
  }

  /** A realistic worker run: start, progress per domain, summary, then a late success line. */
  async playRun(jobId: string, keyword: string, domains: string[]): Promise<void> {
    const post = (message: string) => this.postLine(jobId, message);
    const pause = () =>
      new Promise((resolve) => setTimeout(resolve, this.options.lineDelayMs ?? 50));
    await post(`[INFO] Starting domain generation for: ${keyword}`);
    for (let i = 0; i < domains.length; i++) {
      await pause();
      await post(
        `[INFO] Progress: ${Math.round(((i + 1) * 100) / domains.length)}% - Generated domain ${i + 1}/${domains.length}: ${domains[i]}`,
      );
    }
    await post(
      `[SUMMARY] ${JSON.stringify({ status: 'success', keyword, domains_generated: { success: domains.length, total: domains.length }, domains })}`,
    );
    await post('[SUCCESS] Domain generation completed!');
  }

  async postLine(jobId: string, message: string): Promise<number> {
    return sendLines(this.options.webhookUrl ?? '', this.options.webhookApiKey ?? '', jobId, [
      message,
    ]);
  }
}

/** Posts lines to the backend's webhook: one line as `message`, several as `messages`. Answers the status. */
export async function sendLines(
  webhookUrl: string,
  apiKey: string,
  jobId: string,
  lines: string[],
): Promise<number> {
  const body =
    lines.length === 1 ? { job_id: jobId, message: lines[0] } : { job_id: jobId, messages: lines };
  const res = await fetch(webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

function fakeDomains(keyword: string, count: number): string[] {
  const slug =
    keyword
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'domain';
  return Array.from({ length: Math.min(count, 100) }, (_, i) => `${slug}-${i + 1}.com`);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
