/**
 * Service processes for benchmarks: the compiled API on a fresh database and Redis prefix, the
 * raw node:http ceiling, and the earlier system (seed-fastapi) when it is installed. Everything
 * started here is stopped, and the database and keys dropped, by `cleanup()`.
 */
import { execSync, fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { dropDatabase, unlinkKeys } from '../../test/utils/cleanup.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
/**
 * The build whose API is measured: this checkout, or `BENCH_API_DIR` (another checkout, built,
 * e.g. the commit before a change, to measure both with the same harness).
 */
export const API_DIR = process.env.BENCH_API_DIR ?? ROOT;
export const ADMIN_URL =
  process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const WEBHOOK_KEY = 'bench-webhook-key-0123456789';
export const JWT_SECRET = 'bench-jwt-secret-0123456789abcdef';
/** The earlier system, beside this repository (see its README); absent on most machines. */
export const EARLIER_SYSTEM_DIR =
  process.env.BENCH_EARLIER_SYSTEM_DIR ?? join(ROOT, '../shared/anchors/seed-fastapi');

/** `--name value` from the command line, else the fallback. */
export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}
export const flagArg = (name: string): boolean => process.argv.includes(`--${name}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port nobody listens on right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Runs `nest build` when dist is missing or older than the sources (benchmarks run compiled code). */
export function buildIfNeeded(): void {
  const main = join(ROOT, 'dist/src/main.js');
  const stale =
    !existsSync(main) ||
    !existsSync(join(ROOT, 'dist/bench/lib/raw-server.js')) ||
    Math.max(...['src', 'libs', 'bench'].map((dir) => newestMtime(join(ROOT, dir)))) >
      statSync(main).mtimeMs;
  if (stale) {
    console.log('building (dist is missing or older than the sources)…');
    execSync('npx nest build', { cwd: ROOT, stdio: 'inherit' });
  }
}

export async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await sleep(200);
  }
}

export interface Service {
  name: string;
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM') {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill(signal);
    });
}

/** One benchmark run's own database and Redis prefix, dropped again by `cleanup()`. */
export class BenchEnvironment {
  readonly database: string;
  readonly databaseUrl: string;
  readonly redisPrefix = `bench-${randomBytes(3).toString('hex')}`;
  private readonly services: Service[] = [];

  constructor(name: string) {
    this.database = `gm_bench_${name}_${randomBytes(3).toString('hex')}`;
    this.databaseUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${this.database}`);
    process.once('SIGINT', () => void this.cleanup().finally(() => process.exit(130)));
  }

  /**
   * Starts `node dist/src/main.js` (NODE_ENV=production) and waits for /api/health. The first API
   * process creates and migrates the database. Its stdout (the JSON log) goes to `logFile`.
   */
  async startApi(
    options: {
      env?: Record<string, string>;
      nodeArgs?: string[];
      logFile?: string;
      role?: 'api' | 'all';
    } = {},
  ): Promise<Service> {
    const port = await freePort();
    const out = options.logFile ? openSync(options.logFile, 'a') : 'ignore';
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), 'dist/src/main.js'], {
      cwd: API_DIR,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        PORT: String(port),
        APP_ROLE: options.role ?? 'api',
        LOG_LEVEL: 'info',
        DATABASE_URL: this.databaseUrl,
        REDIS_URL: REDIS_URL,
        REDIS_KEY_PREFIX: this.redisPrefix,
        CRAWLER_WEBHOOK_API_KEY: WEBHOOK_KEY,
        JWT_SECRET,
        // Several API processes on one host: each serves its metrics on a free port.
        // METRICS_ENABLED passes through from the environment (the metrics on/off comparison).
        METRICS_PORT: '0',
        ...options.env,
      },
      stdio: ['ignore', out, 'inherit'],
    });
    const url = `http://127.0.0.1:${port}`;
    // SIGINT: Nest's shutdown hooks close the app and the process exits on its own, so
    // `--cpu-prof` gets to write its profile.
    const service = { name: 'api', url, process: child, stop: stopper(child, 'SIGINT') };
    this.services.push(service);
    await waitForHttp(`${url}/api/health`);
    return service;
  }

  /** The runtime's ceiling: bare node:http answering the webhook's POST (bench/lib/raw-server.ts). */
  async startRaw(): Promise<Service> {
    const port = await freePort();
    const child = fork(join(ROOT, 'dist/bench/lib/raw-server.js'), [String(port)], {
      stdio: 'inherit',
    });
    const service = {
      name: 'raw',
      url: `http://127.0.0.1:${port}`,
      process: child,
      stop: stopper(child),
    };
    this.services.push(service);
    await new Promise((resolve) => child.once('message', resolve));
    return service;
  }

  /**
   * The earlier FastAPI system (in memory, no auth, no durability) from
   * ../shared/anchors/seed-fastapi with Debian's python3-fastapi and python3-uvicorn, one worker.
   * Returns the reason instead when it cannot run here.
   */
  async startEarlierSystem(): Promise<Service | string> {
    if (!existsSync(join(EARLIER_SYSTEM_DIR, 'app.py')))
      return `skipped: ${EARLIER_SYSTEM_DIR} is absent`;
    const probe = spawnSync('/usr/bin/python3', ['-c', 'import fastapi, uvicorn'], {
      stdio: 'ignore',
    });
    if (probe.status !== 0)
      return 'skipped: python3-fastapi / python3-uvicorn (Debian packages) are not installed';
    const port = await freePort();
    const child = spawn(
      '/usr/bin/python3',
      ['-m', 'uvicorn', 'app:app', '--host', '127.0.0.1', '--port', String(port), '--workers', '1'],
      {
        cwd: EARLIER_SYSTEM_DIR,
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
        stdio: 'ignore',
      },
    );
    const service = {
      name: 'earlier',
      url: `http://127.0.0.1:${port}`,
      process: child,
      stop: stopper(child),
    };
    this.services.push(service);
    await waitForHttp(`${service.url}/`);
    return service;
  }

  /** Stops every process started here, then drops the database and the Redis keys (`BENCH_KEEP_DATA=1` keeps them). */
  async cleanup(): Promise<void> {
    await Promise.all(this.services.splice(0).map((service) => service.stop()));
    if (process.env.BENCH_KEEP_DATA) return;
    await dropDatabase(ADMIN_URL, this.database);
    await unlinkKeys(REDIS_URL, `${this.redisPrefix}:*`);
  }
}

/** Runs `main` inside a fresh environment and always cleans up; exits 1 on failure. */
export async function runBenchmark(
  name: string,
  main: (env: BenchEnvironment) => Promise<void>,
): Promise<void> {
  const env = new BenchEnvironment(name);
  try {
    await main(env);
    await env.cleanup();
  } catch (error) {
    console.error(error);
    await env.cleanup().catch((cleanupError: unknown) => console.error(cleanupError));
    process.exitCode = 1;
  }
}

export const loadAverage = (): string => execSync('cat /proc/loadavg').toString().trim();

/**
 * CPU time a process has used so far, in microseconds (user + system, from /proc; Linux clock
 * ticks are 10 ms). CPU per request is the figure the machine's noise disturbs least: other
 * processes slow a run down, but they do not make each request cost more instructions.
 */
export function cpuMicros(pid: number | undefined): number {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return NaN;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}
