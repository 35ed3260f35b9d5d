/**
 * What the metrics cost the crawler's hot paths (#10: "the webhook and SSE figures of
 * `bench:crawler` stay within 5 % of their values with metrics off"):
 * `npm run bench:crawler -- --metrics-compare [--rounds 6 --duration 10 --latency-seconds 10]`.
 *
 * Two API sets from the same build on the same database and Redis, two processes each, with the
 * same environment except METRICS_ENABLED: both get METRICS_PORT and METRICS_TOKEN as production
 * would, and the metrics-on set is scraped with the token every `--scrape-interval` seconds
 * (default 15, Prometheus' usual) for the whole run. Rounds alternate which
 * set goes first (on off, off on, on off, …), because separate runs one after the other showed an
 * order effect of this host larger than the metrics' cost. In every round each set does the same
 * work: a settled database, then
 *   1. webhook, 1 line/request, 64 connections, one process — lines/s and CPU µs per line;
 *   2. webhook, batches of 500 lines, 16 connections over both processes — lines/s, CPU per line;
 *   3. a settled database, then webhook → SSE: 10 subscribers over both processes, 500 lines/s —
 *      delivery p50/p99 and CPU per line (its ingest plus its 10 deliveries).
 * `--calibrate` runs the same with metrics off on both sets (A/A): the noise floor and any bias of
 * the harness, to read a real comparison against.
 * Reported: each set's medians over the rounds, on/off ratios (of the medians — the verdict, within
 * 5 % or not — and the median of the per-round ratios, also split by which set went first, which
 * shows an order effect apart from the metrics'). CPU time is the serving processes' own
 * (from /proc), the figure a shared machine's noise disturbs least.
 */
import { median, printTable, round, writeResults } from '../lib/report.js';
import {
  buildIfNeeded,
  cpuMicros,
  flagArg,
  freePort,
  loadAverage,
  numberArg,
  type BenchEnvironment,
  type Service,
} from '../lib/services.js';
import pg from 'pg';
import { countLines, ingest, latencyRun, newJob, seed, settleDatabase } from './crawler-load.js';

const ROUNDS = numberArg('rounds', 6);
const DURATION = numberArg('duration', 10);
const LATENCY_SECONDS = numberArg('latency-seconds', 10);
const SCRAPE_SECONDS = numberArg('scrape-interval', 15);
/**
 * `--calibrate`: an A/A run — the "on" set runs with metrics off too, so every difference the
 * table shows is the host's noise or the harness' own, the floor under a real comparison.
 */
const CALIBRATE = flagArg('calibrate');
const METRICS_TOKEN = 'bench-metrics-token-0123456789';

type SideName = 'on' | 'off';
interface Side {
  name: SideName;
  services: Service[];
  ports: number[];
  metricsPorts: number[];
}

/** One set's figures in one round. */
interface Sample {
  round: number;
  /** Whether this set went first in its round. */
  first: boolean;
  webhookLinesPerSecond: number;
  webhookCpuUsPerLine: number;
  batchLinesPerSecond: number;
  batchCpuUsPerLine: number;
  sseP50Ms: number;
  sseP99Ms: number;
  sseCpuUsPerLine: number;
  lost: number;
  duplicated: number;
}

/** The figures compared, and which direction is better. */
const FIGURES: Array<{ key: keyof Sample; label: string; higherIsBetter: boolean }> = [
  {
    key: 'webhookLinesPerSecond',
    label: 'webhook 1 line/req, 1 process, lines/s',
    higherIsBetter: true,
  },
  { key: 'webhookCpuUsPerLine', label: 'webhook 1 line/req, CPU µs/line', higherIsBetter: false },
  {
    key: 'batchLinesPerSecond',
    label: 'webhook batches of 500, 2 processes, lines/s',
    higherIsBetter: true,
  },
  { key: 'batchCpuUsPerLine', label: 'webhook batches of 500, CPU µs/line', higherIsBetter: false },
  { key: 'sseP50Ms', label: 'webhook → SSE p50 ms', higherIsBetter: false },
  { key: 'sseP99Ms', label: 'webhook → SSE p99 ms', higherIsBetter: false },
  {
    key: 'sseCpuUsPerLine',
    label: 'webhook → SSE, CPU µs/line (ingest + 10 deliveries)',
    higherIsBetter: false,
  },
];

const cpuOf = (services: Service[]) =>
  services.reduce((sum, s) => sum + cpuMicros(s.process.pid), 0);

async function startSide(env: BenchEnvironment, name: SideName): Promise<Side> {
  const side: Side = { name, services: [], ports: [], metricsPorts: [] };
  for (let i = 0; i < 2; i++) {
    const metricsPort = await freePort();
    const service = await env.startApi({
      env: {
        LOG_LEVEL: 'warn',
        METRICS_ENABLED: name === 'on' && !CALIBRATE ? 'true' : 'false',
        METRICS_PORT: String(metricsPort),
        METRICS_TOKEN,
      },
    });
    side.services.push(service);
    side.ports.push(Number(new URL(service.url).port));
    side.metricsPorts.push(metricsPort);
  }
  return side;
}

/** GET /metrics with the token; the status, or 0 when nothing answers. */
async function scrape(port: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      signal: AbortSignal.timeout(5_000),
    });
    await res.text();
    return res.status;
  } catch {
    return 0;
  }
}

async function measureSide(
  db: pg.Client,
  side: Side,
  user: { userId: string; token: string },
  roundNo: number,
  first: boolean,
): Promise<Sample> {
  await settleDatabase(db);
  const single = await newJob(db, user.userId);
  let cpu = cpuOf(side.services.slice(0, 1));
  const one = await ingest(
    `${side.name}-${roundNo}`,
    side.ports.slice(0, 1),
    single,
    1,
    64,
    DURATION,
  );
  const oneCpu = cpuOf(side.services.slice(0, 1)) - cpu;
  const oneStored = await countLines(db, single);

  const batchJob = await newJob(db, user.userId);
  cpu = cpuOf(side.services);
  const batch = await ingest(`${side.name}-${roundNo}-b`, side.ports, batchJob, 500, 16, DURATION);
  const batchCpu = cpuOf(side.services) - cpu;
  const batchStored = await countLines(db, batchJob);

  await settleDatabase(db);
  cpu = cpuOf(side.services);
  const latency = await latencyRun(db, user.userId, user.token, side.ports, LATENCY_SECONDS);
  const latencyCpu = cpuOf(side.services) - cpu;

  const oneAcked = one.result[0]['2xx'];
  const batchAcked = batch.acked;
  const sample: Sample = {
    round: roundNo,
    first,
    webhookLinesPerSecond: one.result[0].requests.average,
    webhookCpuUsPerLine: oneCpu / oneAcked,
    batchLinesPerSecond: batch.result.reduce((sum, r) => sum + r.requests.average, 0) * 500,
    batchCpuUsPerLine: batchCpu / batchAcked,
    sseP50Ms: latency.p50!,
    sseP99Ms: latency.p99!,
    sseCpuUsPerLine: latencyCpu / latency.rate / LATENCY_SECONDS,
    lost:
      Math.max(0, oneAcked - oneStored.distinct_n) +
      Math.max(0, batchAcked - batchStored.distinct_n) +
      latency.lost,
    duplicated:
      oneStored.n -
      oneStored.distinct_n +
      (batchStored.n - batchStored.distinct_n) +
      latency.duplicated,
  };
  const errors =
    one.result[0].non2xx +
    one.result[0].errors +
    batch.result.reduce((s, r) => s + r.non2xx + r.errors, 0) +
    latency.non2xx;
  if (errors > 0)
    throw new Error(`metrics ${side.name}, round ${roundNo}: ${errors} failed requests`);
  console.log(
    `  round ${roundNo} metrics ${side.name.padEnd(3)}: webhook ${Math.round(sample.webhookLinesPerSecond)} lines/s ` +
      `(${Math.round(sample.webhookCpuUsPerLine)} µs CPU/line), batches ${Math.round(sample.batchLinesPerSecond)} lines/s ` +
      `(${sample.batchCpuUsPerLine.toFixed(1)} µs), SSE p50/p99 ${sample.sseP50Ms}/${sample.sseP99Ms} ms ` +
      `(${Math.round(sample.sseCpuUsPerLine)} µs), lost ${sample.lost}, dup ${sample.duplicated}`,
  );
  return sample;
}

export async function compareMetrics(env: BenchEnvironment): Promise<void> {
  buildIfNeeded();
  // The on set starts first: its first process creates and migrates the database.
  const on = await startSide(env, 'on');
  const off = await startSide(env, 'off');
  // Both sets really are what they claim: the on set serves /metrics, the off set has no server.
  for (const port of CALIBRATE ? [] : on.metricsPorts)
    if ((await scrape(port)) !== 200)
      throw new Error(`metrics-on process: /metrics on ${port} did not answer 200`);
  for (const port of off.metricsPorts)
    if ((await scrape(port)) !== 0)
      throw new Error(`metrics-off process: something answers on ${port}`);

  const scrapes = { ok: 0, failed: 0 };
  const scraper = setInterval(() => {
    for (const port of CALIBRATE ? [] : on.metricsPorts)
      void scrape(port).then((status) => (status === 200 ? scrapes.ok++ : scrapes.failed++));
  }, SCRAPE_SECONDS * 1000);

  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  const user = await seed(on.ports[0]);
  try {
    // Warm-up (JIT, pools, the SSE path) of every process alike, not reported.
    for (const side of [on, off]) {
      const job = await newJob(db, user.userId);
      for (const port of side.ports) await ingest('warm', [port], job, 1, 16, 2);
      await latencyRun(db, user.userId, user.token, side.ports, 2);
    }

    const loadBefore = loadAverage();
    console.log(
      `bench:crawler --metrics-compare${CALIBRATE ? ' --calibrate (A/A: both sets metrics off)' : ''} — ${ROUNDS} rounds, ${DURATION} s per webhook run, ` +
        `${LATENCY_SECONDS} s per SSE run, /metrics scraped every ${SCRAPE_SECONDS} s; loadavg ${loadBefore}`,
    );
    const samples: Record<SideName, Sample[]> = { on: [], off: [] };
    for (let r = 1; r <= ROUNDS; r++) {
      // on off, off on, on off, …: each set goes first in half the rounds.
      const order = r % 2 === 1 ? [on, off] : [off, on];
      for (const [i, side] of order.entries())
        samples[side.name].push(await measureSide(db, side, user, r, i === 0));
    }
    const loadAfter = loadAverage();
    report(samples, scrapes, loadBefore, loadAfter);
  } finally {
    clearInterval(scraper);
    await db.end();
  }
}

function report(
  samples: Record<SideName, Sample[]>,
  scrapes: { ok: number; failed: number },
  loadBefore: string,
  loadAfter: string,
): void {
  const med = (side: SideName, key: keyof Sample) =>
    median(samples[side].map((s) => Number(s[key])));
  const rows = FIGURES.map(({ key, label, higherIsBetter }) => {
    const on = med('on', key);
    const off = med('off', key);
    const ratio = on / off;
    // Paired: each round's on / off, so a host whose speed drifts between rounds cancels out;
    // split by which set went first, the two medians show the order effect beside the metrics'.
    const ratios = samples.on.map((s, i) => ({
      onFirst: s.first,
      ratio: Number(s[key]) / Number(samples.off[i][key]),
    }));
    const paired = median(ratios.map((r) => r.ratio));
    const pairedWhen = (onFirst: boolean) =>
      median(ratios.filter((r) => r.onFirst === onFirst).map((r) => r.ratio));
    const within = higherIsBetter ? ratio >= 0.95 : ratio <= 1.05;
    return {
      figure: label,
      'metrics on': round(on, 2),
      'metrics off': round(off, 2),
      'on / off': `${(ratio * 100).toFixed(1)} %`,
      'paired median': `${(paired * 100).toFixed(1)} %`,
      'paired, on first': `${(pairedWhen(true) * 100).toFixed(1)} %`,
      'paired, off first': `${(pairedWhen(false) * 100).toFixed(1)} %`,
      'within 5 %': within ? 'yes' : 'NO',
    };
  });
  const total = (side: SideName, key: 'lost' | 'duplicated') =>
    samples[side].reduce((sum, s) => sum + s[key], 0);
  printTable(
    `Medians of ${ROUNDS} rounds, metrics on vs off (loadavg before ${loadBefore} / after ${loadAfter}; ` +
      `scrapes ${scrapes.ok} ok, ${scrapes.failed} failed; lost on/off ${total('on', 'lost')}/${total('off', 'lost')}, ` +
      `duplicated ${total('on', 'duplicated')}/${total('off', 'duplicated')})`,
    rows,
  );
  const file = writeResults('crawler-metrics-compare', {
    at: new Date().toISOString(),
    calibrate: CALIBRATE,
    rounds: ROUNDS,
    durationSeconds: DURATION,
    latencySeconds: LATENCY_SECONDS,
    scrapeIntervalSeconds: SCRAPE_SECONDS,
    loadBefore,
    loadAfter,
    scrapes,
    rows,
    samples,
  });
  console.log(`results written to ${file}`);
}
