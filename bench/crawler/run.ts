/**
 * Crawler webhook and stream benchmark: `npm run bench:crawler [-- --duration 10]`.
 * Builds if dist is stale, starts two API processes from dist (APP_ROLE=api, LOG_LEVEL=warn, a fresh
 * `gm_bench` database, its own REDIS_KEY_PREFIX) and a raw node:http server as the ceiling, all on
 * loopback, then measures with the same client (autocannon):
 *   1. raw node:http, one line per request, 64 connections
 *   2. webhook, one line per request, 64 connections (one API process; then both, 32 each)
 *   3. webhook, batches of 500 lines, 16 connections
 *   4. webhook → SSE latency: 10 subscribers over both processes, 500 lines/s
 * Every run counts lines lost (answered 2xx but not stored/delivered) and duplicated.
 * Results: a table on stdout and JSON in bench/results/.
 */
import { execSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { request as httpRequest, Agent } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import pg from 'pg';
import { dropDatabase } from '../../test/utils/cleanup.js';
import { dropBenchData } from '../bench-data.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const DURATION = arg('duration', 10);
const LATENCY_SECONDS = arg('latency-seconds', 10);
const ADMIN_URL =
  process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DB_NAME = 'gm_bench';
const DB_URL = ADMIN_URL.replace(/\/[^/]*$/, `/${DB_NAME}`);
const KEY = 'bench-webhook-key-0123456789';
const JWT_SECRET = 'bench-jwt-secret-0123456789abcdef';
const PREFIX = `bench-${randomBytes(3).toString('hex')}`;
const PORTS = [3101, 3102];
/** METRICS_ENABLED=false runs the API processes with every metric a no-op (the metrics-cost comparison). */
const METRICS_ENABLED = process.env.METRICS_ENABLED !== 'false';
const RAW_PORT = 3199;

const children: ChildProcess[] = [];
const cleanup = () => children.forEach((child) => child.kill('SIGTERM'));
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function buildIfNeeded(): void {
  const main = join(ROOT, 'dist/src/main.js');
  const stale =
    !existsSync(main) ||
    !existsSync(join(ROOT, 'dist/bench/lib/raw-server.js')) ||
    Math.max(newestMtime(join(ROOT, 'src')), newestMtime(join(ROOT, 'libs'))) >
      statSync(main).mtimeMs;
  if (stale) {
    console.log('building (dist is missing or older than src)…');
    execSync('npx nest build', { cwd: ROOT, stdio: 'inherit' });
  }
}

async function freshDatabase(): Promise<void> {
  await dropDatabase(ADMIN_URL, DB_NAME);
}

function startApi(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      APP_ROLE: 'api',
      LOG_LEVEL: 'warn',
      METRICS_PORT: '0', // two API processes on one host; METRICS_ENABLED passes through (on/off comparison)
      DATABASE_URL: DB_URL,
      REDIS_KEY_PREFIX: PREFIX,
      CRAWLER_WEBHOOK_API_KEY: KEY,
      JWT_SECRET,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  return waitForHttp(`http://127.0.0.1:${port}/api/health`).then(() => child);
}

async function waitForHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function startRaw(): Promise<ChildProcess> {
  const child = fork(join(ROOT, 'dist/bench/lib/raw-server.js'), [String(RAW_PORT)], {
    stdio: 'inherit',
  });
  children.push(child);
  return new Promise((resolve) => child.once('message', () => resolve(child)));
}

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
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const sentAt = new Map<number, number>();
  const start = performance.now();
  let non2xx = 0;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * 2; // 500 lines/s
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    sentAt.set(i, performance.now());
    inflight.push(
      post(agent, PORTS[i % 2], JSON.stringify({ job_id: jobId, message: `lat ${i}` })).then(
        (status) => {
          if (status !== 200) non2xx++;
        },
      ),
    );
  }
  await Promise.all(inflight);
  const deadline = Date.now() + 10_000;
  while (subscribers.some((s) => s.count < total) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  const latencies: number[] = [];
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
    }
    lost += total - seen.size;
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    Number(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))].toFixed(2));
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
    note: `max ${latencies.at(-1)?.toFixed(1)} ms; ${latencies.length} deliveries; out of order ${outOfOrder}`,
  };
}

function post(agent: Agent, port: number, body: string): Promise<number> {
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

async function main(): Promise<void> {
  buildIfNeeded();
  await freshDatabase();
  // The first process creates and migrates the database; the second then finds nothing to do.
  await startApi(PORTS[0]);
  await startApi(PORTS[1]);
  await startRaw();
  const db = new pg.Client({ connectionString: DB_URL });
  await db.connect();
  const { userId, token } = await seed(db);
  const load = () => execSync('cat /proc/loadavg').toString().trim();
  const loadBefore = load();

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

  // The ingest runs just wrote over a million rows: let PostgreSQL checkpoint and autovacuum
  // finish with them, so the latency run measures the stream path, not that aftermath.
  await settleDatabase(db);
  rows.push(await latencyRun(db, userId, token));
  await db.end();

  const loadAfter = load();
  console.log(
    `\nCrawler benchmark (${DURATION} s per run; metrics ${METRICS_ENABLED ? 'on' : 'off'}; loadavg before ${loadBefore} / after ${loadAfter})`,
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
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(
    ROOT,
    `bench/results/crawler-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  writeFileSync(
    file,
    JSON.stringify(
      {
        at: new Date().toISOString(),
        durationSeconds: DURATION,
        metricsEnabled: METRICS_ENABLED,
        loadBefore,
        loadAfter,
        rows,
      },
      null,
      2,
    ),
  );
  console.log(`results written to ${file}`);
}

const benchData = {
  adminUrl: ADMIN_URL,
  database: DB_NAME,
  redisUrl: 'redis://127.0.0.1:6379',
  redisPrefix: PREFIX,
};
main().then(
  async () => {
    cleanup();
    await dropBenchData(benchData);
    process.exit(0);
  },
  async (error: unknown) => {
    console.error(error);
    cleanup();
    await dropBenchData(benchData).catch(() => undefined);
    process.exit(1);
  },
);
