import { BILLING_SKUS, envSchema, INSECURE_DEFAULTS, type RawEnv } from './env.schema.js';

export type AppRole = 'all' | 'api' | 'worker';
export type UserRole = 'user' | 'premium' | 'admin';
export type QuotaBucket = 'crawler' | 'scraper';
export type PricedSku = (typeof BILLING_SKUS)[number];

/**
 * Default prices, USD per 1,000 requests: Google's published Places API (New) list prices at
 * the first volume band (docs/scraper.md#cost cites them). Text Search Essentials (IDs only)
 * is free; the self-hosted Python scraper costs what the operator says it does (default 0).
 */
export const DEFAULT_PRICES_USD_PER_1000: Readonly<Record<PricedSku, number>> = {
  'places.text_search.essentials': 0,
  'places.text_search.pro': 32,
  'places.text_search.enterprise': 35,
  'places.text_search.enterprise_atmosphere': 40,
  'python_api.search': 0,
};
export type ProviderName = 'python-api' | 'google-places';

/**
 * The typed configuration, parsed once at start-up. Also the DI token:
 * inject it as `constructor(private readonly config: AppConfig)`.
 */
export abstract class AppConfig {
  declare readonly env: RawEnv['NODE_ENV'];
  declare readonly isProduction: boolean;
  declare readonly port: number;
  declare readonly role: AppRole;
  declare readonly logLevel: RawEnv['LOG_LEVEL'];
  declare readonly logPretty: boolean;
  declare readonly shutdownTimeoutMs: number;
  declare readonly database: { url: string; poolSize: number };
  declare readonly places: { csvExport: RawEnv['PLACES_CSV_EXPORT'] };
  declare readonly redis: { url: string; keyPrefix: string };
  declare readonly http: {
    bodyLimitBytes: number;
    /** Origins given credentials; `*` in the list: any other origin, without credentials. */
    corsOrigins: string[];
    /** Addresses / CIDR ranges of proxies whose X-Forwarded-* headers are believed. */
    trustedProxies: string[];
  };
  declare readonly auth: {
    jwtSecret: string;
    jwtExpiresInSeconds: number;
    refreshTokenTtlSeconds: number;
    adminEmail?: string;
    adminPassword?: string;
    /** Login attempts per client address + email. */
    loginThrottle: { limit: number; ttlSeconds: number };
    /** Login attempts per email, from any address. */
    loginAccountThrottle: { limit: number; ttlSeconds: number };
  };
  /** Hourly quota per bucket and role; `null` means unlimited. */
  declare readonly quotas: Record<QuotaBucket, Record<UserRole, number | null>>;
  declare readonly crawler: {
    webhookApiKey: string;
    jobTimeoutMs: number;
    concurrency: number;
    lockDurationMs: number;
    stalledIntervalMs: number;
    /** `end` of a completed job's streams is held this long after completion (CRAWLER_END_SETTLE_MS). */
    endSettleMs: number;
  };
  declare readonly runpod: {
    mode: 'pod' | 'serverless';
    url: string;
    apiBase: string;
    endpointId?: string;
    apiKey?: string;
    timeoutMs: number;
  };
  declare readonly scraper: {
    /** SCRAPER_PROVIDER: the default of every role, and the provider whose cache keys carry no provider suffix. */
    provider: ProviderName;
    /** Which provider serves each role's jobs (SCRAPER_PROVIDER_<ROLE>, default `provider`). */
    providerByRole: Record<UserRole, ProviderName>;
    /** Serves a job whose own provider is unavailable; null: none. */
    fallbackProvider: ProviderName | null;
    pythonApiUrl: string;
    pythonApiKey?: string;
    googleApiKey?: string;
    googlePlacesApiBase: string;
    timeoutMs: number;
    cacheTtlMs: number;
    concurrency: number;
    backoffMs: number;
    jobTimeoutMs: number;
    lockDurationMs: number;
    stalledIntervalMs: number;
    /** Area coverage (`coverage: "area"`). */
    area: {
      maxResults: number;
      maxDepth: number;
      maxRequests: number;
      concurrency: number;
      viewportTtlMs: number;
    };
  };
  declare readonly spend: {
    /** Monthly budget per role in USD; `null`: unlimited. */
    monthlyBudgetUsd: Record<UserRole, number | null>;
    /** USD per 1,000 requests of each SKU (defaults, then SCRAPER_PRICES_USD_PER_1000). */
    pricesUsdPer1000: Record<PricedSku, number>;
  };
  declare readonly metrics: {
    enabled: boolean;
    port: number;
    host: string;
    token?: string;
  };
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigValidationError';
  }
}

export interface LoadedConfig {
  config: AppConfig;
  /** Loud, non-fatal notes (insecure development secrets); log them at start-up. */
  warnings: string[];
}

/** Parses and validates the environment. Throws ConfigValidationError naming every bad variable. */
export function loadAppConfig(
  source: NodeJS.ProcessEnv | Record<string, string | undefined>,
): LoadedConfig {
  const input = Object.fromEntries(
    Object.entries(source).filter(
      ([key, value]) => key in envSchema.shape && value !== undefined && value !== '',
    ),
  );
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigValidationError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  const env = parsed.data;
  const warnings: string[] = [];
  const problems: string[] = [];
  const isProduction = env.NODE_ENV === 'production';

  const secret = (name: keyof typeof INSECURE_DEFAULTS): string => {
    const value = env[name];
    if (value && value !== INSECURE_DEFAULTS[name]) return value;
    if (isProduction) {
      problems.push(`${name}: must be set to a real secret when NODE_ENV=production`);
    } else {
      warnings.push(
        `${name} is not set: using the INSECURE development value. Set ${name} before exposing this service.`,
      );
    }
    return INSECURE_DEFAULTS[name];
  };
  const jwtSecret = secret('JWT_SECRET');
  const webhookApiKey = secret('CRAWLER_WEBHOOK_API_KEY');

  if (env.RUNPOD_MODE === 'serverless') {
    if (!env.RUNPOD_ENDPOINT_ID)
      problems.push('RUNPOD_ENDPOINT_ID: required when RUNPOD_MODE=serverless');
    if (!env.RUNPOD_API_KEY) problems.push('RUNPOD_API_KEY: required when RUNPOD_MODE=serverless');
  }
  const providerByRole: Record<UserRole, ProviderName> = {
    user: env.SCRAPER_PROVIDER_USER ?? env.SCRAPER_PROVIDER,
    premium: env.SCRAPER_PROVIDER_PREMIUM ?? env.SCRAPER_PROVIDER,
    admin: env.SCRAPER_PROVIDER_ADMIN ?? env.SCRAPER_PROVIDER,
  };
  // Every provider a job may reach must be constructible at start-up, not at its first job.
  const googleUsers = [
    ['SCRAPER_PROVIDER', env.SCRAPER_PROVIDER],
    ['SCRAPER_PROVIDER_USER', env.SCRAPER_PROVIDER_USER],
    ['SCRAPER_PROVIDER_PREMIUM', env.SCRAPER_PROVIDER_PREMIUM],
    ['SCRAPER_PROVIDER_ADMIN', env.SCRAPER_PROVIDER_ADMIN],
    ['SCRAPER_PROVIDER_FALLBACK', env.SCRAPER_PROVIDER_FALLBACK],
  ].filter(([, value]) => value === 'google-places');
  if (googleUsers.length && !env.GOOGLE_MAPS_API_KEY) {
    problems.push(
      `GOOGLE_MAPS_API_KEY: required when ${googleUsers.map(([name]) => `${name}=google-places`).join(', ')}`,
    );
  }
  if (env.REFRESH_TOKEN_TTL <= env.JWT_EXPIRES_IN) {
    problems.push('REFRESH_TOKEN_TTL: must be longer than JWT_EXPIRES_IN');
  }
  if (Boolean(env.ADMIN_EMAIL) !== Boolean(env.ADMIN_PASSWORD)) {
    problems.push('ADMIN_EMAIL / ADMIN_PASSWORD: set both or neither');
  }
  if (env.METRICS_ENABLED && !env.METRICS_TOKEN && !isLoopbackOrPrivate(env.METRICS_HOST)) {
    const note = `METRICS_HOST=${env.METRICS_HOST} exposes /metrics beyond this host without METRICS_TOKEN`;
    if (isProduction) problems.push(`METRICS_TOKEN: must be set when ${note}`);
    else warnings.push(`${note}; set METRICS_TOKEN before exposing this service.`);
  }
  if (problems.length) throw new ConfigValidationError(problems);

  const config: AppConfig = {
    env: env.NODE_ENV,
    isProduction,
    port: env.PORT,
    role: env.APP_ROLE,
    logLevel: env.LOG_LEVEL,
    logPretty: env.LOG_PRETTY,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    database: { url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE },
    places: { csvExport: env.PLACES_CSV_EXPORT },
    redis: { url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX },
    http: {
      bodyLimitBytes: env.HTTP_BODY_LIMIT_BYTES,
      corsOrigins: env.CORS_ORIGINS,
      trustedProxies: env.TRUSTED_PROXIES,
    },
    auth: {
      jwtSecret,
      jwtExpiresInSeconds: env.JWT_EXPIRES_IN,
      refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL,
      adminEmail: env.ADMIN_EMAIL?.toLowerCase(),
      adminPassword: env.ADMIN_PASSWORD,
      loginThrottle: {
        limit: env.LOGIN_THROTTLE_LIMIT,
        ttlSeconds: env.LOGIN_THROTTLE_TTL_SECONDS,
      },
      loginAccountThrottle: {
        limit: env.LOGIN_ACCOUNT_THROTTLE_LIMIT,
        ttlSeconds: env.LOGIN_ACCOUNT_THROTTLE_TTL_SECONDS,
      },
    },
    quotas: {
      crawler: {
        user: env.CRAWLER_RATE_LIMIT_PER_HOUR,
        premium: env.PREMIUM_CRAWLER_RATE_LIMIT_PER_HOUR,
        admin: null,
      },
      scraper: {
        user: env.SCRAPER_RATE_LIMIT_PER_HOUR,
        premium: env.PREMIUM_SCRAPER_RATE_LIMIT_PER_HOUR,
        admin: null,
      },
    },
    crawler: {
      webhookApiKey,
      jobTimeoutMs: env.CRAWLER_JOB_TIMEOUT * 1000,
      concurrency: env.CRAWLER_CONCURRENCY,
      lockDurationMs: env.CRAWLER_LOCK_DURATION_MS,
      stalledIntervalMs: env.CRAWLER_STALLED_INTERVAL_MS,
      endSettleMs: env.CRAWLER_END_SETTLE_MS,
    },
    runpod: {
      mode: env.RUNPOD_MODE,
      url: env.RUNPOD_URL.replace(/\/+$/, ''),
      apiBase: env.RUNPOD_API_BASE.replace(/\/+$/, ''),
      endpointId: env.RUNPOD_ENDPOINT_ID,
      apiKey: env.RUNPOD_API_KEY,
      timeoutMs: env.RUNPOD_TIMEOUT_MS,
    },
    scraper: {
      provider: env.SCRAPER_PROVIDER,
      providerByRole,
      fallbackProvider: env.SCRAPER_PROVIDER_FALLBACK ?? null,
      pythonApiUrl: env.PYTHON_SCRAPER_API_URL.replace(/\/+$/, ''),
      pythonApiKey: env.PYTHON_SCRAPER_API_KEY,
      googleApiKey: env.GOOGLE_MAPS_API_KEY,
      googlePlacesApiBase: env.GOOGLE_PLACES_API_BASE.replace(/\/+$/, ''),
      timeoutMs: env.SCRAPER_TIMEOUT_MS,
      cacheTtlMs: Math.round(env.SCRAPER_CACHE_TTL_HOURS * 3_600_000),
      concurrency: env.SCRAPER_CONCURRENCY,
      backoffMs: env.SCRAPER_BACKOFF_MS,
      jobTimeoutMs: env.SCRAPER_JOB_TIMEOUT * 1000,
      lockDurationMs: env.SCRAPER_LOCK_DURATION_MS,
      stalledIntervalMs: env.SCRAPER_STALLED_INTERVAL_MS,
      area: {
        maxResults: env.SCRAPER_AREA_MAX_RESULTS,
        maxDepth: env.SCRAPER_AREA_MAX_DEPTH,
        maxRequests: env.SCRAPER_AREA_MAX_REQUESTS,
        concurrency: env.SCRAPER_AREA_CONCURRENCY,
        viewportTtlMs: Math.round(env.SCRAPER_AREA_VIEWPORT_TTL_HOURS * 3_600_000),
      },
    },
    spend: {
      monthlyBudgetUsd: {
        user: env.SCRAPER_MONTHLY_BUDGET_USD,
        premium: env.PREMIUM_SCRAPER_MONTHLY_BUDGET_USD,
        admin: null,
      },
      pricesUsdPer1000: { ...DEFAULT_PRICES_USD_PER_1000, ...env.SCRAPER_PRICES_USD_PER_1000 },
    },
    metrics: {
      enabled: env.METRICS_ENABLED,
      port: env.METRICS_PORT,
      host: env.METRICS_HOST,
      token: env.METRICS_TOKEN,
    },
  };
  return { config, warnings };
}

/**
 * Addresses only this host or a private network can reach: loopback, RFC 1918, IPv6 ULA.
 * `0.0.0.0` / `::` (every interface) is neither.
 */
export function isLoopbackOrPrivate(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || /^127\./.test(h)) return true;
  if (/^10\./.test(h) || /^192\.168\./.test(h)) return true;
  const b = /^172\.(\d+)\./.exec(h);
  if (b && Number(b[1]) >= 16 && Number(b[1]) <= 31) return true;
  return /^f[cd][0-9a-f]{2}:/.test(h);
}
