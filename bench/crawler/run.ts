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
 * `--metrics-compare` measures instead what the metrics cost these figures: a metrics-on and a
 * metrics-off set of API processes in alternating rounds (metrics-compare.ts).
 * Results: a table on stdout and JSON in bench/results/.
 */
import { randomUUID } from 'node:crypto';
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
import {
  countLines,
  ingest,
  latencyRun,
  newJob,
  seed,
  settleDatabase,
  type Row,
} from './crawler-load.js';
import { compareMetrics } from './metrics-compare.js';

const DURATION = numberArg('duration', 10);
const LATENCY_SECONDS = numberArg('latency-seconds', 10);
/** `--latency-only`: skip the ingest runs (the latency run alone, e.g. while tuning delivery). */
const LATENCY_ONLY = flagArg('latency-only');
/** The two API processes' ports, and the raw ceiling's, once started (free ports). */
const PORTS: number[] = [];
let RAW_PORT = 0;
const portOf = (url: string) => Number(new URL(url).port);

async function main(env: BenchEnvironment): Promise<void> {
  buildIfNeeded();
  // The first process creates and migrates the database; the second then finds nothing to do.
  // LOG_LEVEL=warn as before: this benchmark measures the crawler path, not request logging.
  for (let i = 0; i < 2; i++)
    PORTS.push(portOf((await env.startApi({ env: { LOG_LEVEL: 'warn' } })).url));
  RAW_PORT = portOf((await env.startRaw()).url);
  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  const { userId, token } = await seed(PORTS[0]);
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
  rows.push(await latencyRun(db, userId, token, PORTS, LATENCY_SECONDS));
  await db.end();
  report(rows, loadBefore);
}

async function ingestRuns(db: pg.Client, userId: string, rows: Row[]): Promise<void> {
  const raw = await ingest('raw', [RAW_PORT], randomUUID(), 1, 64, DURATION);
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
    const run = await ingest(`single-${targets.length}`, targets, jobId, 1, 64, DURATION);
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
    const run = await ingest('batch', PORTS, jobId, 500, 16, DURATION);
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

await (flagArg('metrics-compare')
  ? runBenchmark('crawler', compareMetrics)
  : runBenchmark('crawler', main));
