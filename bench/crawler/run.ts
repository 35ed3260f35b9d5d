/**
 * Crawler webhook and stream benchmark: `npm run bench:crawler [-- --duration 10]`.
 * `--latency-only` runs only the webhook → SSE run (4), which also prints where a line waited:
 * in the client before its POST was sent, until the POST was answered (committed), and from the
 * answer to the stream.
 * On the shared harness (bench/lib): builds if dist is stale, starts two API processes from dist
 * (APP_ROLE=api, LOG_LEVEL=warn, a fresh database and Redis prefix, free ports) and the raw
 * node:http ceiling, all on loopback, then measures with one client (autocannon, whose
 * per-request bodies and SSE timing this benchmark needs):
 *   1. raw node:http, one line per request, 64 connections
 *   2. webhook, one line per request, 64 connections (one API process; then both, 32 each)
 *   3. webhook, batches of 500 lines, 16 connections
 *   4. webhook → SSE latency: 10 subscribers over both processes, 500 lines/s
 * Every run counts lines lost (answered 2xx but not stored/delivered) and duplicated.
 * Results: a table on stdout and JSON in bench/results/.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest, Agent } from 'node:http';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import pg from 'pg';
import { writeResults } from '../lib/report.js';
import {
  buildIfNeeded,
  flagArg,
  loadAverage,
  numberArg,
  runBenchmark,
  WEBHOOK_KEY as KEY,
  type BenchEnvironment,
} from '../lib/services.js';

const DURATION = numberArg('duration', 10);
const LATENCY_SECONDS = numberArg('latency-seconds', 10);
/** `--latency-only`: skip the ingest runs (the latency run alone, e.g. while tuning delivery). */
const LATENCY_ONLY = flagArg('latency-only');
/** The two API processes' ports, and the raw ceiling's, once started (free ports). */
const PORTS: number[] = [];
let RAW_PORT = 0;
const portOf = (url: string) => Number(new URL(url).port);

async function seed(db: pg.Client): Promise<{ userId: string; token: string }> {
  const email = `bench-${randomUUID()}@example.com`;
  const res = await fetch(`http://127.0.0.1:${PORTS[0]}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'bench-password-1' }),
  });
  const body = (await res.json()) as { user: { id: string }; access_token: string };
  void db;
  return { userId: body.user.id, token: body.access_token };
}

async function newJob(db: pg.Client, userId: string): Promise<string> {
  const { rows } = await db.query(
    `INSERT INTO crawler_jobs (user_id, status, keywords, domain_count, priority, timeout_seconds, started_at, last_activity_at)
     VALUES ($1, 'running', ARRAY['bench'], 5, 10, 3600, now(), now()) RETURNING id`,
    [userId],
  );
  return rows[0].id as string;
}

async function countLines(db: pg.Client, jobId: string) {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n, count(DISTINCT message)::int AS distinct_n, coalesce(max(seq), 0) AS max_seq
     FROM crawler_job_logs WHERE job_id = $1`,
    [jobId],
  );
  return rows[0] as { n: number; distinct_n: number; max_seq: number };
}

interface Row {
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

async function ingest(
  name: string,
  targets: number[],
  jobId: string | null,
  linesPerRequest: number,
  connections: number,
): Promise<{ result: Awaited<ReturnType<typeof autocannon>>[]; sent: number; acked: number }> {
  let counter = 0;
  const runs = targets.map((port) =>
    autocannon({
      url: `http://127.0.0.1:${port}/api/crawler/log`,
      method: 'POST',
      connections: Math.max(1, Math.floor(connections / targets.length)),
      duration: DURATION,
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

async function latencyRun(db: pg.Client, userId: string, token: string): Promise<Row> {
  const jobId = await newJob(db, userId);
  const total = 500 * LATENCY_SECONDS;
  const subscribers = Array.from({ length: 10 }, (_, i) => subscribe(PORTS[i % 2], jobId, token));
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
      post(agent, PORTS[i % 2], JSON.stringify({ job_id: jobId, message: `lat ${i}` }), (at) =>
        queueMs.push(at - sentAt.get(i)!),
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
    name: `webhook → SSE, 10 subscribers on 2 processes, 500 lines/s`,
    rate: Math.round(total / LATENCY_SECONDS),
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

async function settleDatabase(db: pg.Client): Promise<void> {
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

async function main(env: BenchEnvironment): Promise<void> {
  buildIfNeeded();
  // The first process creates and migrates the database; the second then finds nothing to do.
  // LOG_LEVEL=warn as before: this benchmark measures the crawler path, not request logging.
  for (let i = 0; i < 2; i++)
    PORTS.push(portOf((await env.startApi({ env: { LOG_LEVEL: 'warn' } })).url));
  RAW_PORT = portOf((await env.startRaw()).url);
  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  const { userId, token } = await seed(db);
  const loadBefore = loadAverage();

  const rows: Row[] = [];
  // Warm-up (JIT, pools), not reported.
  const warmJob = await newJob(db, userId);
  await autocannon({
    url: `http://127.0.0.1:${PORTS[0]}/api/crawler/log`,
    method: 'POST',
    connections: 16,
    duration: 2,
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    body: JSON.stringify({ job_id: warmJob, message: 'warm' }),
  });

  if (!LATENCY_ONLY) await ingestRuns(db, userId, rows);
  // The ingest runs just wrote over a million rows: let PostgreSQL checkpoint and autovacuum
  // finish with them, so the latency run measures the stream path, not that aftermath.
  await settleDatabase(db);
  rows.push(await latencyRun(db, userId, token));
  await db.end();
  report(rows, loadBefore);
}

async function ingestRuns(db: pg.Client, userId: string, rows: Row[]): Promise<void> {
  const raw = await ingest('raw', [RAW_PORT], randomUUID(), 1, 64);
  const rawRate = raw.result[0].requests.average;
  rows.push({
    name: 'raw node:http ceiling, 1 line/request, 64 conns',
    rate: Math.round(rawRate),
    unit: 'req/s',
    p50: raw.result[0].latency.p50,
    p99: raw.result[0].latency.p99,
    non2xx: raw.result[0].non2xx,
    lost: 0,
    duplicated: 0,
  });

  for (const targets of [[PORTS[0]], PORTS]) {
    const jobId = await newJob(db, userId);
    const run = await ingest(`single-${targets.length}`, targets, jobId, 1, 64);
    const stored = await countLines(db, jobId);
    const rate = run.result.reduce((sum, r) => sum + r.requests.average, 0);
    rows.push({
      name: `webhook, 1 line/request, 64 conns, ${targets.length} API process(es)`,
      rate: Math.round(rate),
      unit: 'lines/s',
      ratio: `${((rate / rawRate) * 100).toFixed(0)}% of raw`,
      p50: run.result[0].latency.p50,
      p99: run.result[0].latency.p99,
      non2xx: run.result.reduce((s, r) => s + r.non2xx + r.errors, 0),
      lost: Math.max(0, run.acked - stored.distinct_n),
      duplicated: stored.n - stored.distinct_n,
      note: `ids 1..${stored.max_seq} for ${stored.n} lines`,
    });
  }

  {
    const jobId = await newJob(db, userId);
    const run = await ingest('batch', PORTS, jobId, 500, 16);
    const stored = await countLines(db, jobId);
    const rate = run.result.reduce((sum, r) => sum + r.requests.average, 0) * 500;
    rows.push({
      name: 'webhook, batches of 500 lines, 16 conns, 2 API processes',
      rate: Math.round(rate),
      unit: 'lines/s',
      p50: run.result[0].latency.p50,
      p99: run.result[0].latency.p99,
      non2xx: run.result.reduce((s, r) => s + r.non2xx + r.errors, 0),
      lost: Math.max(0, run.acked - stored.distinct_n),
      duplicated: stored.n - stored.distinct_n,
      note: `ids 1..${stored.max_seq} for ${stored.n} lines`,
    });
  }
}

function report(rows: Row[], loadBefore: string): void {
  const loadAfter = loadAverage();
  console.log(
    `\nCrawler benchmark (${DURATION} s per run; metrics ${process.env.METRICS_ENABLED === 'false' ? 'off' : 'on'}; loadavg before ${loadBefore} / after ${loadAfter})`,
  );
  console.table(
    rows.map((r) => ({
      run: r.name,
      rate: `${r.rate} ${r.unit}`,
      vs_raw: r.ratio ?? '',
      'p50 ms': r.p50 ?? '',
      'p99 ms': r.p99 ?? '',
      'non-2xx': r.non2xx,
      lost: r.lost,
      dup: r.duplicated,
      note: r.note ?? '',
    })),
  );
  const file = writeResults('crawler', {
    at: new Date().toISOString(),
    durationSeconds: DURATION,
    metricsEnabled: process.env.METRICS_ENABLED !== 'false',
    loadBefore,
    loadAfter,
    rows,
  });
  console.log(`results written to ${file}`);
}

await runBenchmark('crawler', main);
