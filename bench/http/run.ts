/**
 * The HTTP hot path against the runtime's ceiling: `npm run bench:http [-- --duration 10 --rounds 3 --profile]`.
 *
 * One run, one client (wrk -t1 when installed, else autocannon), rounds interleaved so that the
 * machine's noise hits every target alike:
 *   - raw node:http answering the webhook's POST (the ceiling), at 16 and 64 connections;
 *   - the earlier FastAPI system (in memory, no auth, no durability), same POST, 16 and 64;
 *   - this project, one API process from dist (NODE_ENV=production, LOG_LEVEL=info, its JSON log
 *     written to a file): the durable webhook at 16 and 64, an authenticated GET /api/auth/me,
 *     an unknown route (404) and the webhook with a job id that is not a UUID, each at 64.
 * Every figure is the median of the rounds, printed as a share of the raw ceiling measured in this
 * run, with the serving process's CPU time per request (from /proc: the figure the noise of a shared
 * machine disturbs least). After each webhook run the lines answered 2xx are counted in
 * PostgreSQL (none may be lost).
 * `--profile` runs the API under `node --cpu-prof` and prints where its CPU went.
 * `--only raw-64,webhook-64` runs just those targets (keys as printed per round).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { printProfileSummary, summariseProfile, type ProfileSummary } from '../lib/cpu-profile.js';
import { load, loadClient, type LoadResult, type LoadSpec } from '../lib/load.js';
import { median, percent, printTable, round, times, writeResults } from '../lib/report.js';
import {
  buildIfNeeded,
  cpuMicros,
  flagArg,
  loadAverage,
  numberArg,
  ROOT,
  runBenchmark,
  WEBHOOK_KEY,
  type BenchEnvironment,
  type Service,
} from '../lib/services.js';

const DURATION = numberArg('duration', 10);
const ROUNDS = numberArg('rounds', 3);
const WARMUP_SECONDS = numberArg('warmup', 3);
const PROFILE = flagArg('profile');
/** `--only raw-64,webhook-64`: just these targets (by key), e.g. to profile one path. */
const ONLY = process.argv.includes('--only')
  ? new Set(process.argv[process.argv.indexOf('--only') + 1].split(','))
  : null;

/** The webhook's body; `{{n}}` makes every line distinct so stored lines can be counted. */
const logBody = (jobId: string) => JSON.stringify({ job_id: jobId, message: '[INFO] line {{n}}' });
const JSON_HEADERS = { 'content-type': 'application/json' };

interface Target {
  key: string;
  /** The process serving it, for CPU per request. */
  service: Service;
  label: string;
  system: 'raw' | 'earlier' | 'project';
  connections: number;
  /** A fresh spec per run (a new job per durable run). */
  spec(): Promise<LoadSpec>;
  /** The status every answer must have; 2xx unless given. */
  expectStatus?: number;
  /** Lines stored for the run's job, to count losses (durable webhook runs only). */
  stored?: () => Promise<{ n: number; distinct: number }>;
}

interface Sample extends LoadResult {
  round: number;
  /** The serving process's CPU time per request answered, in µs. */
  cpuPerRequestUs: number;
  lost: number;
  duplicated: number;
}

async function main(env: BenchEnvironment): Promise<void> {
  buildIfNeeded();
  const client = loadClient();
  const logFile = join(tmpdir(), `bench-http-${env.redisPrefix}.log`);
  const profileDir = join(ROOT, `bench/results/profiles/http-${Date.now()}`);
  if (PROFILE) mkdirSync(profileDir, { recursive: true });

  const raw = await env.startRaw();
  const earlier = await env.startEarlierSystem();
  const api = await env.startApi({
    logFile,
    nodeArgs: PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  });
  // The same build with METRICS_ENABLED=false, for the metrics' cost on the webhook (#10),
  // measured interleaved with the metrics-on process, round by round.
  const apiNoMetrics =
    ONLY && !ONLY.has('webhook-64-nometrics')
      ? undefined
      : await env.startApi({ logFile: `${logFile}.nometrics`, env: { METRICS_ENABLED: 'false' } });
  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();

  const { userId, token } = await register(api);
  const newJob = async () => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO crawler_jobs (user_id, status, keywords, domain_count, priority, timeout_seconds, started_at, last_activity_at)
       VALUES ($1, 'running', ARRAY['bench'], 5, 10, 3600, now(), now()) RETURNING id`,
      [userId],
    );
    return rows[0].id;
  };
  /** The durable webhook of one API process, one line per request, a fresh job per run (counted after). */
  const webhookTarget = (
    key: string,
    label: string,
    service: typeof api,
    connections: number,
  ): Target => {
    let jobId = '';
    return {
      key,
      label,
      system: 'project',
      service,
      connections,
      spec: async () => {
        jobId = await newJob();
        return {
          url: `${service.url}/api/crawler/log`,
          method: 'POST',
          headers: { ...JSON_HEADERS, 'x-api-key': WEBHOOK_KEY },
          body: logBody(jobId),
          connections,
          durationSeconds: DURATION,
        };
      },
      stored: async () => {
        const { rows } = await db.query<{ n: number; distinct: number }>(
          `SELECT count(*)::int AS n, count(DISTINCT message)::int AS distinct FROM crawler_job_logs WHERE job_id = $1`,
          [jobId],
        );
        return rows[0];
      },
    };
  };
  const earlierJob = typeof earlier === 'string' ? undefined : await startEarlierJob(earlier.url);

  const targets: Target[] = [];
  for (const connections of [16, 64]) {
    targets.push({
      key: `raw-${connections}`,
      label: `raw node:http, POST one line, c=${connections}`,
      system: 'raw',
      service: raw,
      connections,
      spec: async () => ({
        url: `${raw.url}/api/crawler/log`,
        method: 'POST',
        headers: JSON_HEADERS,
        body: logBody(randomUUID()),
        connections,
        durationSeconds: DURATION,
      }),
    });
    if (earlierJob && typeof earlier !== 'string')
      targets.push({
        key: `earlier-${connections}`,
        label: `earlier system (FastAPI, in memory), POST one line, c=${connections}`,
        system: 'earlier',
        service: earlier,
        connections,
        spec: async () => ({
          url: `${earlier.url}/api/crawler/log`,
          method: 'POST',
          headers: JSON_HEADERS,
          body: logBody(earlierJob),
          connections,
          durationSeconds: DURATION,
        }),
      });
    targets.push(
      webhookTarget(
        `webhook-${connections}`,
        `project: POST /api/crawler/log (durable), c=${connections}`,
        api,
        connections,
      ),
    );
  }
  if (apiNoMetrics)
    targets.push(
      webhookTarget(
        'webhook-64-nometrics',
        'project, metrics off: POST /api/crawler/log (durable), c=64',
        apiNoMetrics,
        64,
      ),
    );
  targets.push(
    {
      key: 'me-64',
      label: 'project: GET /api/auth/me (JWT + caller), c=64',
      system: 'project',
      service: api,
      connections: 64,
      spec: async () => ({
        url: `${api.url}/api/auth/me`,
        headers: { authorization: `Bearer ${token}` },
        connections: 64,
        durationSeconds: DURATION,
      }),
    },
    {
      key: 'notfound-64',
      label: 'project: GET /api/nothing-here (404), c=64',
      system: 'project',
      service: api,
      connections: 64,
      expectStatus: 404,
      spec: async () => ({
        url: `${api.url}/api/nothing-here`,
        connections: 64,
        durationSeconds: DURATION,
      }),
    },
    {
      key: 'bad-job-64',
      label: 'project: webhook, job id not a UUID (404 before any I/O), c=64',
      system: 'project',
      service: api,
      connections: 64,
      expectStatus: 404,
      spec: async () => ({
        url: `${api.url}/api/crawler/log`,
        method: 'POST',
        headers: { ...JSON_HEADERS, 'x-api-key': WEBHOOK_KEY },
        body: logBody('not-a-uuid'),
        connections: 64,
        durationSeconds: DURATION,
      }),
    },
  );

  if (ONLY) targets.splice(0, targets.length, ...targets.filter((t) => ONLY.has(t.key)));

  // Each expected answer, checked once before loading it.
  for (const target of targets.filter((t) => t.system === 'project')) {
    const spec = await target.spec();
    const res = await fetch(spec.url, {
      method: spec.method ?? 'GET',
      headers: spec.headers,
      body: spec.body?.replaceAll('{{n}}', '0'),
    });
    const expected = target.expectStatus ?? 200;
    if (res.status !== expected)
      throw new Error(`${target.label}: answered ${res.status}, expected ${expected}`);
  }

  const loadBefore = loadAverage();
  console.log(
    `bench:http — ${client}, ${ROUNDS} interleaved rounds of ${DURATION} s per target; loadavg ${loadBefore}`,
  );
  if (typeof earlier === 'string') console.log(`earlier system ${earlier}`);
  for (const target of targets)
    await load({ ...(await target.spec()), durationSeconds: WARMUP_SECONDS });

  const samples = new Map<string, Sample[]>(targets.map((t) => [t.key, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const target of targets) {
      const spec = await target.spec();
      const cpuBefore = cpuMicros(target.service.process.pid);
      const result = await load(spec);
      const cpuPerRequestUs = (cpuMicros(target.service.process.pid) - cpuBefore) / result.requests;
      let lost = 0;
      let duplicated = 0;
      if (target.stored) {
        const stored = await target.stored();
        lost = Math.max(0, result.requests - result.non2xx - stored.distinct);
        duplicated = stored.n - stored.distinct;
      }
      samples.get(target.key)!.push({ ...result, round, cpuPerRequestUs, lost, duplicated });
      process.stdout.write(
        `  round ${round}: ${target.key.padEnd(12)} ${Math.round(result.rate)} req/s, p99 ${result.p99Ms.toFixed(1)} ms, ${Math.round(cpuPerRequestUs)} µs CPU/req\n`,
      );
    }
  }
  await db.end();
  const loadAfter = loadAverage();

  const med = (key: string, pick: (s: Sample) => number) =>
    samples.has(key) ? median(samples.get(key)!.map(pick)) : NaN;
  const cpu = (key: string) => med(key, (s) => s.cpuPerRequestUs);
  const rows = targets.map((target) => {
    const list = samples.get(target.key)!;
    const rate = med(target.key, (s) => s.rate);
    const unexpected = list.reduce(
      (sum, s) => sum + (target.expectStatus ? s.requests - s.non2xx : s.non2xx),
      0,
    );
    return {
      key: target.key,
      target: target.label,
      'req/s (median)': round(rate),
      'vs raw': percent(
        rate,
        med(`raw-${target.connections}`, (s) => s.rate),
      ),
      'vs earlier':
        target.system === 'raw'
          ? ''
          : times(
              rate,
              med(`earlier-${target.connections}`, (s) => s.rate),
            ),
      'p50 ms': round(
        med(target.key, (s) => s.p50Ms),
        2,
      ),
      'p99 ms': round(
        med(target.key, (s) => s.p99Ms),
        2,
      ),
      'CPU µs/req': round(cpu(target.key)),
      // The share of the ceiling this path reaches when CPU is the only limit: raw's CPU per
      // request over this one's. Steadier than req/s on a busy machine.
      'vs raw, by CPU': percent(cpu(`raw-${target.connections}`), cpu(target.key)),
      errors: unexpected + list.reduce((sum, s) => sum + s.socketErrors, 0),
      lost: target.stored ? list.reduce((sum, s) => sum + s.lost, 0) : '',
      dup: target.stored ? list.reduce((sum, s) => sum + s.duplicated, 0) : '',
    };
  });
  printTable(
    `Medians of ${ROUNDS} rounds (loadavg before ${loadBefore} / after ${loadAfter})`,
    rows.map(({ key: _key, ...row }) => row),
  );

  const rawRate = med('raw-64', (s) => s.rate);
  const webhook = med('webhook-64', (s) => s.rate);
  const earlierRate = med('earlier-64', (s) => s.rate);
  const checks = [
    [
      'webhook c=64 ≥ 30 % of raw',
      webhook / rawRate >= 0.3,
      `${percent(webhook, rawRate)} (by CPU ${percent(cpu('raw-64'), cpu('webhook-64'))})`,
    ],
    [
      'webhook c=64 ≥ 3× the earlier system',
      Number.isNaN(earlierRate) ? null : webhook / earlierRate >= 3,
      times(webhook, earlierRate),
    ],
    [
      "webhook c=64 p99 ≤ the earlier system's",
      Number.isNaN(earlierRate)
        ? null
        : med('webhook-64', (s) => s.p99Ms) <= med('earlier-64', (s) => s.p99Ms),
      `${round(
        med('webhook-64', (s) => s.p99Ms),
        1,
      )} vs ${round(
        med('earlier-64', (s) => s.p99Ms),
        1,
      )} ms`,
    ],
    [
      '/api/auth/me c=64 ≥ 30 % of raw',
      samples.has('me-64') ? med('me-64', (s) => s.rate) / rawRate >= 0.3 : null,
      `${percent(
        med('me-64', (s) => s.rate),
        rawRate,
      )} (by CPU ${percent(cpu('raw-64'), cpu('me-64'))})`,
    ],
    [
      '404 c=64 ≥ 40 % of raw',
      samples.has('notfound-64') ? med('notfound-64', (s) => s.rate) / rawRate >= 0.4 : null,
      `${percent(
        med('notfound-64', (s) => s.rate),
        rawRate,
      )} (by CPU ${percent(cpu('raw-64'), cpu('notfound-64'))})`,
    ],
    [
      'metrics on: webhook c=64 within 5 % of metrics off',
      samples.has('webhook-64-nometrics')
        ? med('webhook-64', (s) => s.rate) >= 0.95 * med('webhook-64-nometrics', (s) => s.rate) &&
          cpu('webhook-64') <= 1.05 * cpu('webhook-64-nometrics')
        : null,
      `${percent(
        med('webhook-64', (s) => s.rate),
        med('webhook-64-nometrics', (s) => s.rate),
      )} of the req/s, ${percent(cpu('webhook-64'), cpu('webhook-64-nometrics'))} of the CPU per request`,
    ],
    [
      'nothing lost, 0 errors',
      rows.every((r) => r.errors === 0 && (r.lost === '' || r.lost === 0)),
      `${rows.reduce((s, r) => s + (typeof r.lost === 'number' ? r.lost : 0), 0)} lost, ${rows.reduce((s, r) => s + r.errors, 0)} errors`,
    ],
  ] as const;
  printTable(
    'Targets',
    checks.map(([target, met, figure]) => ({
      target,
      figure,
      met: met === null ? 'n/a (not measured in this run)' : met ? 'yes' : 'NO',
    })),
  );

  await env.cleanup();
  rmSync(logFile, { force: true });
  rmSync(`${logFile}.nometrics`, { force: true });
  let profile: (ProfileSummary & { file: string }) | undefined;
  if (PROFILE) {
    const [newest] = readdirSync(profileDir)
      .map((name) => join(profileDir, name))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    if (newest) {
      profile = { file: newest, ...summariseProfile(newest) };
      printProfileSummary(profile);
    }
  }
  const file = writeResults('http', {
    at: new Date().toISOString(),
    client,
    rounds: ROUNDS,
    durationSeconds: DURATION,
    loadBefore,
    loadAfter,
    earlierSystem: typeof earlier === 'string' ? earlier : 'measured',
    rows,
    targets: checks.map(([target, met, figure]) => ({ target, met, figure })),
    samples: Object.fromEntries(samples),
    profile,
  });
  console.log(`results written to ${file}`);
}

async function register(api: Service): Promise<{ userId: string; token: string }> {
  const res = await fetch(`${api.url}/api/auth/register`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({
      email: `bench-${randomUUID()}@example.com`,
      password: 'bench-password-1',
    }),
  });
  const body = (await res.json()) as { user: { id: string }; access_token: string };
  return { userId: body.user.id, token: body.access_token };
}

async function startEarlierJob(url: string): Promise<string> {
  const res = await fetch(`${url}/api/crawler/start`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({ domain_count: 5, keywords: ['bench'] }),
  });
  return ((await res.json()) as { job_id: string }).job_id;
}

await runBenchmark('http', main);
