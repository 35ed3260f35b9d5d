/**
 * Authenticated request benchmark: `npm run bench:auth [-- --duration 10 --rounds 3 --compare name=<dist>…]`
 * (builds first).
 *
 * `GET /api/auth/me` with a bearer token, 64 connections, wrk (one thread), against a raw
 * node:http server answering the same JSON — the runtime's ceiling, measured in the same run.
 * The app runs compiled (`node dist/src/main.js`, NODE_ENV=production, APP_ROLE=api, the default
 * LOG_LEVEL, stdout discarded) on its own database and Redis prefix, both removed at the end.
 * `--compare name=<dist>` (repeatable) also runs other builds (the `dist/` of an earlier commit,
 * e.g. from `git worktree`) in the same rounds, each on its own database: before and after in
 * one run.
 * Rounds are interleaved (raw, app, [compare], raw, …); medians are reported as a share of raw.
 * Every answer must be 200: non-2xx answers and socket errors are counted and printed.
 * Results: a table on stdout and JSON in bench/results/.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { dropBenchData } from '../bench-data.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
};
const DURATION = Number(arg('duration') ?? 10);
const ROUNDS = Number(arg('rounds') ?? 3);
const CONNECTIONS = 64;
const COMPARE = process.argv.flatMap((value, i) =>
  process.argv[i - 1] === '--compare' ? [value.split('=') as [string, string]] : [],
);
const ADMIN_URL =
  process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const RUN = randomBytes(3).toString('hex');
const JWT_SECRET = 'bench-jwt-secret-0123456789abcdef';

/** The ceiling: a bare node:http server answering a /me-sized JSON body. */
const RAW_SERVER = `
const body = JSON.stringify({ id: '${randomUUID()}', email: 'bench@example.com', name: null, role: 'user', created_at: new Date().toISOString() });
require('node:http').createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(Number(process.argv[1]), '127.0.0.1');
`;

interface Target {
  name: string;
  url: string;
  token?: string;
  database?: string;
  prefix?: string;
}

interface WrkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  socketErrors: number;
}

const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((child) => child.kill('SIGTERM')));
process.on('SIGINT', () => process.exit(130));

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function startRaw(): Promise<Target> {
  const port = await freePort();
  children.push(spawn(process.execPath, ['-e', RAW_SERVER, String(port)], { stdio: 'inherit' }));
  const url = `http://127.0.0.1:${port}/api/auth/me`;
  await waitForHttp(url);
  return { name: 'raw node:http', url };
}

async function startApp(name: string, distDir: string): Promise<Target> {
  const port = await freePort();
  const database = `gm_bench_auth_${RUN}_${name.replace(/\W/g, '')}`;
  const prefix = `bench-auth-${RUN}-${name.replace(/\W/g, '')}`;
  const child = spawn(process.execPath, [join(distDir, 'src/main.js')], {
    cwd: resolve(distDir, '..'),
    env: {
      ...process.env,
      NODE_ENV: 'production',
      APP_ROLE: 'api',
      PORT: String(port),
      DATABASE_URL: ADMIN_URL.replace(/\/[^/]*$/, `/${database}`),
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      JWT_SECRET,
      CRAWLER_WEBHOOK_API_KEY: 'bench-webhook-key-0123456789',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/api/health`);
  const res = await fetch(`${base}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `bench-${randomUUID()}@example.com`, password: 'bench-pass-1' }),
  });
  const token = ((await res.json()) as { access_token: string }).access_token;
  const me = await fetch(`${base}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } });
  if (me.status !== 200) throw new Error(`${name}: /api/auth/me answered ${me.status}`);
  return { name, url: `${base}/api/auth/me`, token, database, prefix };
}

const ms = (text: string) => {
  const m = /([\d.]+)(us|ms|s)/.exec(text);
  if (!m) return NaN;
  return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[m[2]];
};

function wrk(target: Target, seconds: number): WrkResult {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency'];
  if (target.token) args.push('-H', `authorization: Bearer ${target.token}`);
  const out = execFileSync('wrk', [...args, target.url], { encoding: 'utf8' });
  const line = (re: RegExp) => re.exec(out)?.[1] ?? '';
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(line(/Requests\/sec:\s+([\d.]+)/)),
    p50Ms: ms(line(/\s50%\s+(\S+)/)),
    p99Ms: ms(line(/\s99%\s+(\S+)/)),
    non2xx: Number(line(/Non-2xx or 3xx responses: (\d+)/) || 0),
    socketErrors: errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

const median = (values: number[]) =>
  [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const targets: Target[] = [await startRaw(), await startApp('this build', join(ROOT, 'dist'))];
  for (const [name, dist] of COMPARE) targets.push(await startApp(name, resolve(dist)));
  try {
    for (const target of targets) wrk(target, 2); // warm-up: JIT, pools, caches
    const results = new Map<string, WrkResult[]>(targets.map((t) => [t.name, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const target of targets) {
        const result = wrk(target, DURATION);
        results.get(target.name)!.push(result);
        console.log(
          `round ${round} ${target.name.padEnd(14)} ${result.rps.toFixed(0).padStart(7)} req/s  p99 ${result.p99Ms.toFixed(2)} ms  non-2xx ${result.non2xx}  errors ${result.socketErrors}`,
        );
      }
    }
    const raw = median(results.get('raw node:http')!.map((r) => r.rps));
    const rows = targets.map((target) => {
      const runs = results.get(target.name)!;
      const rps = median(runs.map((r) => r.rps));
      return {
        target: target.name,
        rps: Math.round(rps),
        share_of_raw: Number((rps / raw).toFixed(3)),
        p50_ms: median(runs.map((r) => r.p50Ms)),
        p99_ms: median(runs.map((r) => r.p99Ms)),
        non_2xx: runs.reduce((sum, r) => sum + r.non2xx, 0),
        socket_errors: runs.reduce((sum, r) => sum + r.socketErrors, 0),
        rounds: runs.map((r) => Math.round(r.rps)),
      };
    });
    console.log(
      `\nGET /api/auth/me, ${CONNECTIONS} connections, wrk -t1, ${DURATION} s x ${ROUNDS} rounds (medians)`,
    );
    console.table(rows);
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(
      ROOT,
      `bench/results/auth-me-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
    );
    writeFileSync(
      file,
      JSON.stringify(
        { connections: CONNECTIONS, duration_s: DURATION, rounds: ROUNDS, rows },
        null,
        2,
      ),
    );
    console.log(`written ${file}`);
  } finally {
    children.forEach((child) => child.kill('SIGTERM'));
    await new Promise((r) => setTimeout(r, 500));
    for (const target of targets) {
      if (target.database && target.prefix) {
        await dropBenchData({
          adminUrl: ADMIN_URL,
          database: target.database,
          redisUrl: REDIS_URL,
          redisPrefix: target.prefix,
        });
      }
    }
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
