import { describe, expect, it } from 'vitest';
import { ConfigValidationError, INSECURE_DEFAULTS, loadAppConfig } from './index.js';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadAppConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigValidationError);
    return (error as ConfigValidationError).problems;
  }
  throw new Error('expected the configuration to be rejected');
};

describe('loadAppConfig', () => {
  it('works with no variables at all, on local defaults, warning about insecure secrets', () => {
    const { config, warnings } = loadAppConfig({});
    expect(config.port).toBe(3000);
    expect(config.role).toBe('all');
    expect(config.database.url).toBe('postgres://postgres@127.0.0.1:5432/gm_backend');
    expect(config.quotas.scraper).toEqual({ user: 10, premium: 50, admin: null });
    expect(config.scraper.cacheTtlMs).toBe(24 * 3_600_000);
    expect(config.auth.jwtSecret).toBe(INSECURE_DEFAULTS.JWT_SECRET);
    expect(warnings.join('\n')).toMatch(/JWT_SECRET.*INSECURE/);
    expect(warnings.join('\n')).toMatch(/CRAWLER_WEBHOOK_API_KEY/);
  });

  it('names the bad variable', () => {
    expect(problemsOf({ PORT: 'eighty' }).join()).toMatch(/^PORT: /);
    expect(problemsOf({ APP_ROLE: 'both' }).join()).toMatch(/^APP_ROLE: /);
    expect(problemsOf({ REDIS_URL: 'not a url' }).join()).toMatch(/^REDIS_URL: /);
    expect(problemsOf({ JWT_EXPIRES_IN: 'soon' }).join()).toMatch(/^JWT_EXPIRES_IN: .*duration/);
  });

  it('lists every bad variable at once', () => {
    const problems = problemsOf({
      PORT: '-1',
      SCRAPER_PROVIDER: 'bing',
      SCRAPER_RATE_LIMIT_PER_HOUR: 'many',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'PORT',
      'SCRAPER_PROVIDER',
      'SCRAPER_RATE_LIMIT_PER_HOUR',
    ]);
  });

  it('refuses missing or development secrets in production', () => {
    const problems = problemsOf({
      NODE_ENV: 'production',
      JWT_SECRET: INSECURE_DEFAULTS.JWT_SECRET,
    });
    expect(problems.join('\n')).toMatch(/JWT_SECRET: must be set/);
    expect(problems.join('\n')).toMatch(/CRAWLER_WEBHOOK_API_KEY: must be set/);
    const { config, warnings } = loadAppConfig({
      NODE_ENV: 'production',
      JWT_SECRET: 'a-real-production-secret-value',
      CRAWLER_WEBHOOK_API_KEY: 'a-real-webhook-key',
    });
    expect(config.isProduction).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('requires what the chosen RunPod mode and scraper provider need', () => {
    expect(problemsOf({ RUNPOD_MODE: 'serverless' }).join('\n')).toMatch(
      /RUNPOD_ENDPOINT_ID.*\n.*RUNPOD_API_KEY/,
    );
    expect(problemsOf({ SCRAPER_PROVIDER: 'google-places' }).join()).toMatch(/GOOGLE_MAPS_API_KEY/);
    expect(problemsOf({ ADMIN_EMAIL: 'admin@example.com' }).join()).toMatch(/ADMIN_PASSWORD/);
  });

  it('routes each role to its provider, SCRAPER_PROVIDER by default, and needs the Google key for any Google route', () => {
    const { config } = loadAppConfig({
      SCRAPER_PROVIDER_PREMIUM: 'google-places',
      SCRAPER_PROVIDER_FALLBACK: 'google-places',
      GOOGLE_MAPS_API_KEY: 'k',
    });
    expect(config.scraper.providerByRole).toEqual({
      user: 'python-api',
      premium: 'google-places',
      admin: 'python-api',
    });
    expect(config.scraper.fallbackProvider).toBe('google-places');
    expect(loadAppConfig({}).config.scraper.fallbackProvider).toBeNull();
    expect(problemsOf({ SCRAPER_PROVIDER_ADMIN: 'google-places' }).join()).toMatch(
      /GOOGLE_MAPS_API_KEY: required when SCRAPER_PROVIDER_ADMIN=google-places/,
    );
    expect(problemsOf({ SCRAPER_PROVIDER_FALLBACK: 'google-places' }).join()).toMatch(
      /SCRAPER_PROVIDER_FALLBACK=google-places/,
    );
    expect(problemsOf({ SCRAPER_PROVIDER_USER: 'bing' }).join()).toMatch(/SCRAPER_PROVIDER_USER/);
  });

  it('refuses a session that would end before its access token', () => {
    expect(problemsOf({ JWT_EXPIRES_IN: '1h', REFRESH_TOKEN_TTL: '30m' }).join()).toMatch(
      /^REFRESH_TOKEN_TTL: must be longer than JWT_EXPIRES_IN/,
    );
    expect(
      loadAppConfig({ JWT_EXPIRES_IN: '1h', REFRESH_TOKEN_TTL: '2h' }).config.auth
        .refreshTokenTtlSeconds,
    ).toBe(7200);
  });

  it('parses durations and the user scraping quota', () => {
    const { config } = loadAppConfig({
      JWT_EXPIRES_IN: '15m',
      REFRESH_TOKEN_TTL: '7d',
      CRAWLER_JOB_TIMEOUT: '2',
      SCRAPER_RATE_LIMIT_PER_HOUR: '3',
    });
    expect(config.auth.jwtExpiresInSeconds).toBe(900);
    expect(config.auth.refreshTokenTtlSeconds).toBe(7 * 86400);
    expect(config.crawler.jobTimeoutMs).toBe(2000);
    expect(config.quotas.scraper.user).toBe(3);
  });

  it('trusts no proxy by default, and parses TRUSTED_PROXIES as addresses and CIDR ranges', () => {
    expect(loadAppConfig({}).config.http.trustedProxies).toEqual([]);
    expect(
      loadAppConfig({ TRUSTED_PROXIES: '10.0.0.1, 10.1.0.0/16,fd00::/8 ,loopback' }).config.http
        .trustedProxies,
    ).toEqual(['10.0.0.1', '10.1.0.0/16', 'fd00::/8', 'loopback']);
    for (const bad of ['*', 'true', '10.0.0.0/33', 'proxy.example.com', '10.0.0.1/8/1'])
      expect(problemsOf({ TRUSTED_PROXIES: bad }).join(), bad).toMatch(/^TRUSTED_PROXIES: /);
  });

  it('throttles logins per address + email and, more loosely, per email', () => {
    const { auth } = loadAppConfig({}).config;
    expect(auth.loginThrottle).toEqual({ limit: 5, ttlSeconds: 60 });
    expect(auth.loginAccountThrottle).toEqual({ limit: 20, ttlSeconds: 900 });
    expect(
      loadAppConfig({ LOGIN_ACCOUNT_THROTTLE_LIMIT: '50' }).config.auth.loginAccountThrottle.limit,
    ).toBe(50);
    expect(problemsOf({ LOGIN_ACCOUNT_THROTTLE_LIMIT: '0' }).join()).toMatch(
      /^LOGIN_ACCOUNT_THROTTLE_LIMIT: /,
    );
  });

  it('parses CORS_ORIGINS and refuses an origin that could never match', () => {
    expect(loadAppConfig({}).config.http.corsOrigins).toEqual(['*']);
    expect(
      loadAppConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173,*' }).config
        .http.corsOrigins,
    ).toEqual(['https://app.example.com', 'http://localhost:5173', '*']);
    for (const bad of ['https://app.example.com/', 'app.example.com', 'https://*.example.com'])
      expect(problemsOf({ CORS_ORIGINS: bad }).join(), bad).toMatch(/^CORS_ORIGINS: /);
  });

  it('treats empty variables as unset', () => {
    expect(loadAppConfig({ PORT: '', JWT_SECRET: '' }).config.port).toBe(3000);
  });

  it('never serves /metrics open beyond the host in production', () => {
    const prod = {
      NODE_ENV: 'production',
      JWT_SECRET: 'a-real-production-secret-value',
      CRAWLER_WEBHOOK_API_KEY: 'a-real-webhook-key',
    };
    expect(problemsOf({ ...prod, METRICS_HOST: '0.0.0.0' }).join()).toMatch(
      /^METRICS_TOKEN: must be set when METRICS_HOST=0\.0\.0\.0/,
    );
    for (const host of ['127.0.0.1', '::1', '10.1.2.3', '172.20.0.4', '192.168.1.9']) {
      expect(loadAppConfig({ ...prod, METRICS_HOST: host }).config.metrics.host).toBe(host);
    }
    const withToken = loadAppConfig({
      ...prod,
      METRICS_HOST: '0.0.0.0',
      METRICS_TOKEN: 'a-long-metrics-token',
    });
    expect(withToken.config.metrics).toEqual({
      enabled: true,
      port: 9464,
      host: '0.0.0.0',
      token: 'a-long-metrics-token',
    });
    expect(
      loadAppConfig({ ...prod, METRICS_HOST: '0.0.0.0', METRICS_ENABLED: 'false' }).warnings,
    ).toEqual([]);
    expect(loadAppConfig({ METRICS_HOST: '0.0.0.0' }).warnings.join()).toMatch(/METRICS_TOKEN/);
  });

  it('prices provider requests from Google’s list prices, overridable per SKU, and budgets per role', () => {
    const { config } = loadAppConfig({});
    expect(config.spend.pricesUsdPer1000).toEqual({
      'places.text_search.essentials': 0,
      'places.text_search.pro': 32,
      'places.text_search.enterprise': 35,
      'places.text_search.enterprise_atmosphere': 40,
      'python_api.search': 0,
    });
    expect(config.spend.monthlyBudgetUsd).toEqual({ user: 10, premium: 100, admin: null });

    const custom = loadAppConfig({
      SCRAPER_PRICES_USD_PER_1000:
        '{"python_api.search": 0.5, "places.text_search.enterprise": 30}',
      SCRAPER_MONTHLY_BUDGET_USD: '2.5',
    }).config.spend;
    expect(custom.pricesUsdPer1000['python_api.search']).toBe(0.5);
    expect(custom.pricesUsdPer1000['places.text_search.enterprise']).toBe(30);
    expect(custom.pricesUsdPer1000['places.text_search.pro']).toBe(32);
    expect(custom.monthlyBudgetUsd.user).toBe(2.5);

    expect(problemsOf({ SCRAPER_PRICES_USD_PER_1000: 'cheap' }).join()).toMatch(
      /^SCRAPER_PRICES_USD_PER_1000: expected a JSON object/,
    );
    expect(problemsOf({ SCRAPER_PRICES_USD_PER_1000: '{"places.details": 5}' }).join()).toMatch(
      /^SCRAPER_PRICES_USD_PER_1000/,
    );
    expect(problemsOf({ SCRAPER_PRICES_USD_PER_1000: '{"python_api.search": -1}' }).join()).toMatch(
      /^SCRAPER_PRICES_USD_PER_1000/,
    );
    expect(problemsOf({ PREMIUM_SCRAPER_MONTHLY_BUDGET_USD: '-5' }).join()).toMatch(
      /^PREMIUM_SCRAPER_MONTHLY_BUDGET_USD/,
    );
  });
});
