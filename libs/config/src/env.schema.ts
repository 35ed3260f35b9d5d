import { isIP } from 'node:net';
import { z } from 'zod';

/** Every SKU a provider request can be billed as (mirrors `BillingSku` in libs/google-maps). */
export const BILLING_SKUS = [
  'places.text_search.essentials',
  'places.text_search.pro',
  'places.text_search.enterprise',
  'places.text_search.enterprise_atmosphere',
  'python_api.search',
] as const;

/** Development fallbacks for secrets that have no safe default. Refused when NODE_ENV=production. */
export const INSECURE_DEFAULTS = {
  JWT_SECRET: 'insecure-dev-jwt-secret-do-not-use-in-production',
  CRAWLER_WEBHOOK_API_KEY: 'insecure-dev-webhook-key',
} as const;

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max);
const url = () => z.url();
const csv = () =>
  z.string().transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );

/** A browser's Origin header: scheme, host, optional port. */
const ORIGIN = /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$|^https?:\/\/\[[0-9a-f:.]+\](:\d{1,5})?$/i;

/** proxy-addr's names for address ranges, accepted by Fastify's `trustProxy`. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An address, a CIDR range (`10.0.0.0/8`, `fd00::/8`) or a named range (`loopback`). */
export function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (!family || rest.length) return false;
  if (prefix === undefined) return true;
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
  return bits >= 0 && bits <= (family === 4 ? 32 : 128);
}

/** Durations such as `3600`, `90s`, `15m`, `1h`, `7d`, parsed to seconds. */
export const durationSeconds = () =>
  z.string().transform((value, ctx) => {
    const match = /^(\d+)\s*(s|m|h|d)?$/.exec(value.trim());
    if (!match) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected seconds or a duration such as 15m, 1h, 7d',
      });
      return z.NEVER;
    }
    const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
    return Number(match[1]) * unit;
  });

/**
 * Every environment variable the service reads, with its local default.
 * Empty strings count as unset, so `FOO=` in a .env file means "use the default".
 */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(0, 65535).default(3000),
  APP_ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: z.stringbool().default(false),

  DATABASE_URL: url().default('postgres://postgres@127.0.0.1:5432/gm_backend'),
  DATABASE_POOL_SIZE: int(1, 200).default(10),
  /**
   * How the places CSV export reads PostgreSQL: `copy` (COPY … TO STDOUT, the default) or
   * `cursor` (the previous path: a server-side cursor, PostgreSQL writing each line). Both write
   * the same bytes; `cursor` is the way back without a deploy, and the benchmark's baseline.
   */
  PLACES_CSV_EXPORT: z.enum(['copy', 'cursor']).default('copy'),
  REDIS_URL: url().default('redis://127.0.0.1:6379/0'),
  /** Namespace for every Redis key and channel, so several deployments (or test runs) can share one Redis. */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]+$/)
    .default('gm'),

  HTTP_BODY_LIMIT_BYTES: int(1024).default(1_048_576),
  /** Origins allowed with credentials; `*` allows any other origin, without credentials. */
  CORS_ORIGINS: csv()
    .refine((entries) => entries.every((entry) => entry === '*' || ORIGIN.test(entry)), {
      message:
        'expected * or origins such as https://app.example.com (scheme, host and port; no path, no trailing slash)',
    })
    .default(['*']),
  /** Proxies whose X-Forwarded-For / -Proto / -Host are believed; none by default. */
  TRUSTED_PROXIES: csv()
    .refine((entries) => entries.every(isProxyAddress), {
      message:
        'expected comma-separated IP addresses, CIDR ranges or loopback/linklocal/uniquelocal',
    })
    .default([]),
  SHUTDOWN_TIMEOUT_MS: int(0).default(30_000),

  JWT_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Access token lifetime: short, because a refresh token renews it (see docs/auth.md). */
  JWT_EXPIRES_IN: durationSeconds().default(900),
  /** A session (its refresh token) ends after this long without a refresh. */
  REFRESH_TOKEN_TTL: durationSeconds().default(30 * 86400),
  ADMIN_EMAIL: z.email().optional(),
  ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  LOGIN_THROTTLE_LIMIT: int(1).default(5),
  LOGIN_THROTTLE_TTL_SECONDS: int(1).default(60),
  /** Attempts on one account from any address; higher than per address so its owner is rarely locked out. */
  LOGIN_ACCOUNT_THROTTLE_LIMIT: int(1).default(20),
  LOGIN_ACCOUNT_THROTTLE_TTL_SECONDS: int(1).default(900),

  CRAWLER_WEBHOOK_API_KEY: z.string().min(8, 'must be at least 8 characters').optional(),
  CRAWLER_JOB_TIMEOUT: durationSeconds().default(600),
  CRAWLER_RATE_LIMIT_PER_HOUR: int(0).default(10),
  PREMIUM_CRAWLER_RATE_LIMIT_PER_HOUR: int(0).default(50),
  /** A completed job's streams hold `end` this long, so live viewers get the worker's closing lines. */
  CRAWLER_END_SETTLE_MS: int(0, 60_000).default(1_500),

  RUNPOD_MODE: z.enum(['pod', 'serverless']).default('pod'),
  RUNPOD_URL: url().default('http://127.0.0.1:8001'),
  RUNPOD_API_BASE: url().default('https://api.runpod.ai/v2'),
  RUNPOD_ENDPOINT_ID: z.string().optional(),
  RUNPOD_API_KEY: z.string().optional(),
  RUNPOD_TIMEOUT_MS: int(100).default(30_000),

  SCRAPER_PROVIDER: z.enum(['python-api', 'google-places']).default('python-api'),
  /** The provider each role's jobs go to; unset: SCRAPER_PROVIDER. */
  SCRAPER_PROVIDER_USER: z.enum(['python-api', 'google-places']).optional(),
  SCRAPER_PROVIDER_PREMIUM: z.enum(['python-api', 'google-places']).optional(),
  SCRAPER_PROVIDER_ADMIN: z.enum(['python-api', 'google-places']).optional(),
  /** Serves a job whose provider is unavailable (unreachable, 5xx, 429); unset: no fallback. */
  SCRAPER_PROVIDER_FALLBACK: z.enum(['python-api', 'google-places']).optional(),
  PYTHON_SCRAPER_API_URL: url().default('http://127.0.0.1:5001'),
  PYTHON_SCRAPER_API_KEY: z.string().optional(),
  GOOGLE_MAPS_API_KEY: z.string().optional(),
  GOOGLE_PLACES_API_BASE: url().default('https://places.googleapis.com'),
  SCRAPER_TIMEOUT_MS: int(100).default(120_000),
  SCRAPER_RATE_LIMIT_PER_HOUR: int(0).default(10),
  PREMIUM_SCRAPER_RATE_LIMIT_PER_HOUR: int(0).default(50),
  SCRAPER_CACHE_TTL_HOURS: z.coerce.number().positive().default(24),
  SCRAPER_CONCURRENCY: int(1, 100).default(2),
  /** First retry delay; Bull doubles it for each further attempt (exponential backoff). */
  SCRAPER_BACKOFF_MS: int(0).default(10_000),
  /** One attempt of a scrape job that runs longer than this fails (the old worker's --timeout=600). */
  SCRAPER_JOB_TIMEOUT: durationSeconds().default(600),
  /** A worker holds a job's lock this long between renewals; a dead worker's job is recovered after it. */
  SCRAPER_LOCK_DURATION_MS: int(500).default(30_000),
  /** How often workers look for stalled jobs (lock expired, worker gone) to run again. */
  SCRAPER_STALLED_INTERVAL_MS: int(100).default(30_000),
  /** Area coverage (`coverage: "area"`): the most places one area job may ask for. */
  SCRAPER_AREA_MAX_RESULTS: int(1, 30_000).default(2_000),
  /** Levels below its start cells an area job may split a full cell into. */
  SCRAPER_AREA_MAX_DEPTH: int(0, 20).default(8),
  /** Billed requests one area job may make; beyond, it ends `truncated` (reason `requests`). */
  SCRAPER_AREA_MAX_REQUESTS: int(1).default(500),
  /** Cells an area job searches at once. */
  SCRAPER_AREA_CONCURRENCY: int(1, 32).default(4),
  /** How long a kecamatan's resolved viewport is kept (it hardly ever changes). */
  SCRAPER_AREA_VIEWPORT_TTL_HOURS: z.coerce.number().positive().default(720),
  CRAWLER_CONCURRENCY: int(1, 100).default(4),
  /** Bull job lock of a dispatch; a dead worker's dispatch runs again after it (and a stalled check). */
  CRAWLER_LOCK_DURATION_MS: int(500).default(30_000),
  /**
   * How often workers look for dispatches without a live lock. Short: it also picks up a job whose
   * move to `active` reached Redis while its reply was lost to a connection cut (nobody runs it).
   */
  CRAWLER_STALLED_INTERVAL_MS: int(100).default(5_000),

  /** Monthly provider spend allowed per role, in USD (admins: unlimited); an admin may set one user's own. */
  SCRAPER_MONTHLY_BUDGET_USD: z.coerce.number().min(0).default(10),
  PREMIUM_SCRAPER_MONTHLY_BUDGET_USD: z.coerce.number().min(0).default(100),
  /**
   * Price overrides, USD per 1,000 billed requests, as JSON keyed by SKU, e.g.
   * `{"places.text_search.enterprise": 30, "python_api.search": 0.2}`; unnamed SKUs keep their defaults.
   */
  SCRAPER_PRICES_USD_PER_1000: z
    .string()
    .transform((value, ctx) => {
      try {
        return JSON.parse(value) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected a JSON object' });
        return z.NEVER;
      }
    })
    .pipe(z.partialRecord(z.enum(BILLING_SKUS), z.number().min(0)))
    .optional(),

  /** Prometheus metrics (prom-client); `false` makes every instrument a no-op and serves nothing. */
  METRICS_ENABLED: z.stringbool().default(true),
  /** The metrics server's own port (not the API's, not under /api); 0 picks a free one. */
  METRICS_PORT: int(0, 65535).default(9464),
  /** Its bind address. In production a non-loopback, non-private address needs METRICS_TOKEN. */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** When set, scrapes must send `Authorization: Bearer <token>`. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
});

export type RawEnv = z.output<typeof envSchema>;
