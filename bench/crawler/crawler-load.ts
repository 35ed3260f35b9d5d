/**
 * The crawler benchmark's load: the webhook driven by autocannon, the webhook → SSE latency run
 * with its own subscribers, and the database facts that count lost and duplicated lines.
 * Shared by `bench:crawler` (run.ts) and its `--metrics-compare` mode (metrics-compare.ts).
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest, Agent } from 'node:http';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import pg from 'pg';
import { WEBHOOK_KEY as KEY } from '../lib/services.js';

/** Registers a bench user through the API on `port`. */
export async function seed(port: number): Promise<{ userId: string; token: string }> {
  const email = `bench-${randomUUID()}@example.com`;
  const res = await fetch(`http://127.0.0.1:${port}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'bench-password-1' }),
  });
  const body = (await res.json()) as { user: { id: string }; access_token: string };
  return { userId: body.user.id, token: body.access_token };
}

/** A running crawler job straight in the database (the webhook accepts lines for it). */
export async function newJob(db: pg.Client, userId: string): Promise<string> {
  const { rows } = await db.query(
    `INSERT INTO crawler_jobs (user_id, status, keywords, domain_count, priority, timeout_seconds, started_at, last_activity_at)
     VALUES ($1, 'running', ARRAY['bench'], 5, 10, 3600, now(), now()) RETURNING id`,
    [userId],
  );
  return rows[0].id as string;
}

export async function countLines(db: pg.Client, jobId: string) {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n, count(DISTINCT message)::int AS distinct_n, coalesce(max(seq), 0) AS max_seq
     FROM crawler_job_logs WHERE job_id = $1`,
    [jobId],
  );
  return rows[0] as { n: number; distinct_n: number; max_seq: number };
}

export interface Row {
  name: string;
  rate: number;
  unit: string;
  ratio?: string;
  p50?: number;
  p99?: number;
  non2xx: number;
  lost: number;
  duplicated: number;
  note?: string;
}

/**
 * Loads the webhook of every port in `targets` at once (connections split between them) for
 * `duration` seconds; every line is distinct, so stored lines can be counted after.
 */
export async function ingest(
  name: string,
  targets: number[],
  jobId: string | null,
  linesPerRequest: number,
  connections: number,
  duration: number,
): Promise<{ result: Awaited<ReturnType<typeof autocannon>>[]; sent: number; acked: number }> {
  let counter = 0;
  const runs = targets.map((port) =>
    autocannon({
      url: `http://127.0.0.1:${port}/api/crawler/log`,
      method: 'POST',
      connections: Math.max(1, Math.floor(connections / targets.length)),
      duration,
      headers: { 'content-type': 'application/json', 'x-api-key': KEY },
      requests: [
        {
          setupRequest: (req: Record<string, unknown>) => {
            const base = `${name} ${counter++}`;
            const body =
              linesPerRequest === 1
                ? { job_id: jobId ?? randomUUID(), message: `[INFO] ${base}` }
                : {
                    job_id: jobId,
                    messages: Array.from(
                      { length: linesPerRequest },
                      (_, i) => `[INFO] ${base}.${i}`,
                    ),
                  };
            return { ...req, body: JSON.stringify(body) };
          },
        },
      ],
    }),
  );
  const result = await Promise.all(runs);
  const acked = result.reduce((sum, r) => sum + r['2xx'], 0) * linesPerRequest;
  return { result, sent: counter * linesPerRequest, acked };
}

/**
 * Webhook → SSE: 10 subscribers spread over `ports`, one line every 2 ms (500 lines/s) for
 * `seconds`, posted round-robin to `ports`; each delivery timed from the line's POST.
 */
export async function latencyRun(
  db: pg.Client,
  userId: string,
  token: string,
  ports: number[],
  seconds: number,
): Promise<Row> {
  const jobId = await newJob(db, userId);
  const total = 500 * seconds;
  const subscribers = Array.from({ length: 10 }, (_, i) =>
    subscribe(ports[i % ports.length], jobId, token),
  );
  await Promise.all(subscribers.map((s) => s.ready));
  // Sockets enough that lines never queue in the client at this rate (a fleet of RunPod workers
  // holds a connection each): with 16, one slow commit made the next lines wait for a socket, and
  // that wait counted as delivery latency. The wait is still measured (`client queue`).
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const sentAt = new Map<number, number>();
  const ackAt = new Map<number, number>();
  const queueMs: number[] = [];
  const ackMs: number[] = [];
  // The client's own event-loop delay: a late 'data' callback would count as delivery latency.
  const clientLoop = monitorEventLoopDelay({ resolution: 1 });
  clientLoop.enable();
  const start = performance.now();
  let non2xx = 0;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * 2; // 500 lines/s
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    sentAt.set(i, performance.now());
    inflight.push(
      post(
        agent,
        ports[i % ports.length],
        JSON.stringify({ job_id: jobId, message: `lat ${i}` }),
        (at) => queueMs.push(at - sentAt.get(i)!),
      ).then((status) => {
        const at = performance.now();
        ackAt.set(i, at);
        ackMs.push(at - sentAt.get(i)!);
        if (status !== 200) non2xx++;
      }),
    );
  }
  await Promise.all(inflight);
  const deadline = Date.now() + 10_000;
  while (subscribers.some((s) => s.count < total) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  const latencies: number[] = [];
  /** From the POST's answer to the line's arrival on a stream (negative: the stream was first). */
  const afterAck: number[] = [];
  let lost = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  for (const s of subscribers) {
    s.close();
    const seen = new Set<number>();
    let prevId = 0;
    for (const e of s.events) {
      if (seen.has(e.n)) duplicated++;
      seen.add(e.n);
      if (e.id <= prevId) outOfOrder++;
      prevId = e.id;
      latencies.push(e.at - sentAt.get(e.n)!);
      afterAck.push(e.at - ackAt.get(e.n)!);
    }
    lost += total - seen.size;
  }
  clientLoop.disable();
  latencies.sort((a, b) => a - b);
  for (const list of [ackMs, queueMs, afterAck]) list.sort((a, b) => a - b);
  const pctOf = (sorted: number[], p: number) =>
    Number(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))].toFixed(2));
  const pct = (p: number) => pctOf(latencies, p);
  agent.destroy();
  return {
    name: `webhook → SSE, 10 subscribers on ${ports.length} processes, 500 lines/s`,
    rate: Math.round(total / seconds),
    unit: 'lines/s',
    p50: pct(0.5),
    p99: pct(0.99),
    non2xx,
    lost,
    duplicated,
    note:
      `max ${latencies.at(-1)?.toFixed(1)} ms; ${latencies.length} deliveries; out of order ${outOfOrder}; ` +
      `p50/p99 ms: POST answered ${pctOf(ackMs, 0.5)}/${pctOf(ackMs, 0.99)} ` +
      `(of which client queue ${pctOf(queueMs, 0.5)}/${pctOf(queueMs, 0.99)}), ` +
      `stream after answer ${pctOf(afterAck, 0.5)}/${pctOf(afterAck, 0.99)}; ` +
      `client loop delay p99 ${(clientLoop.percentile(99) / 1e6).toFixed(1)} ms`,
  };
}

function post(
  agent: Agent,
  port: number,
  body: string,
  onSocket?: (at: number) => void,
): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/api/crawler/log',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'x-api-key': KEY,
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    if (onSocket) req.once('socket', () => onSocket(performance.now()));
    req.end(body);
  });
}

function subscribe(port: number, jobId: string, token: string) {
  const events: Array<{ id: number; n: number; at: number }> = [];
  let buffer = '';
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const req = httpRequest(
    {
      host: '127.0.0.1',
      port,
      path: `/api/crawler/logs/${jobId}`,
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    },
    (res) => {
      res.setEncoding('utf8');
      markReady();
      res.on('data', (chunk: string) => {
        const at = performance.now();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const id = /^id: (\d+)$/m.exec(block);
          const data = /^data: lat (\d+)$/m.exec(block);
          if (id && data) events.push({ id: Number(id[1]), n: Number(data[1]), at });
        }
      });
    },
  );
  req.end();
  return {
    ready,
    events,
    get count() {
      return events.length;
    },
    close: () => req.destroy(),
  };
}

/** Waits for a checkpoint and for autovacuum to finish (after large ingest runs). */
export async function settleDatabase(db: pg.Client): Promise<void> {
  await db.query('CHECKPOINT');
  for (let i = 0; i < 120; i++) {
    const [{ n }] = (
      await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'`,
      )
    ).rows;
    if (n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
