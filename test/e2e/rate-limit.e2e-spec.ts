import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbeModule } from '../utils/probe.module.js';
import { createTestApp, createUser, uniquePrefix, type TestApp } from '../utils/test-app.js';

describe('RateLimit: per-role hourly quotas', () => {
  const prefix = uniquePrefix();
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    // Two API processes of one deployment: same database, same Redis namespace.
    a = await createTestApp({ env: { REDIS_KEY_PREFIX: prefix }, imports: [ProbeModule] });
    b = await createTestApp({ env: { REDIS_KEY_PREFIX: prefix }, imports: [ProbeModule] });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it("answers a user's 11th request in the hour with 429 and the rate-limit headers", async () => {
    const user = await createUser(a);
    for (let i = 1; i <= 10; i++) {
      const res = await a.http.post('/api/test-probe/quota', {}, user.token);
      expect(res.status).toBe(202);
      expect(res.headers.get('x-ratelimit-limit')).toBe('10');
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(10 - i));
      const reset = Number(res.headers.get('x-ratelimit-reset'));
      expect(reset).toBeGreaterThan(0);
      expect(reset).toBeLessThanOrEqual(3600);
      expect(res.headers.get('ratelimit-policy')).toBe('"scraper";q=10;w=3600');
      expect(res.headers.get('ratelimit')).toBe(`"scraper";r=${10 - i};t=${reset}`);
    }
    const over = await a.http.post('/api/test-probe/quota', {}, user.token);
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    expect(over.body.message).toMatch(/resets at \d{2}:00 UTC/);
    expect(over.headers.get('x-ratelimit-remaining')).toBe('0');
    const retryAfter = Number(over.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBe(Number(over.headers.get('x-ratelimit-reset')));
  });

  it('never limits an admin and sends no quota headers for them', async () => {
    const admin = await createUser(a, 'admin');
    for (let i = 0; i < 15; i++) {
      const res = await a.http.post('/api/test-probe/quota', {}, admin.token);
      expect(res.status).toBe(202);
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
    }
  });

  it('gives premium users their own, larger quota', async () => {
    const premium = await createUser(a, 'premium');
    const res = await a.http.post('/api/test-probe/quota', {}, premium.token);
    expect(res.headers.get('x-ratelimit-limit')).toBe('50');
  });

  it('shares one counter between two app instances, letting exactly 10 through under concurrency', async () => {
    const user = await createUser(a);
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        (i % 2 ? a : b).http.post('/api/test-probe/quota', {}, user.token),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(14);
    const status = await b.http.get('/api/rate-limit/status', user.token);
    expect(
      status.body.buckets.find((x: { bucket: string }) => x.bucket === 'scraper'),
    ).toMatchObject({
      limit: 10,
      used: 10,
      remaining: 0,
    });
  });

  it('does not charge a request that failed validation or failed in the handler', async () => {
    const user = await createUser(a);
    expect((await a.http.post('/api/test-probe/quota', { unknown: 1 }, user.token)).status).toBe(
      422,
    );
    expect((await a.http.post('/api/test-probe/quota', { fail: true }, user.token)).status).toBe(
      500,
    );
    const ok = await a.http.post('/api/test-probe/quota', {}, user.token);
    expect(ok.headers.get('x-ratelimit-remaining')).toBe('9');
  });

  it("reports the caller's buckets on /api/rate-limit/status", async () => {
    const user = await createUser(a);
    await a.http.post('/api/test-probe/quota', {}, user.token);
    const res = await a.http.get('/api/rate-limit/status', user.token);
    expect(res.status).toBe(200);
    expect(res.body.role).toBe('user');
    const byBucket = Object.fromEntries(
      res.body.buckets.map((x: { bucket: string }) => [x.bucket, x]),
    );
    expect(byBucket.scraper).toMatchObject({ limit: 10, used: 1, remaining: 9 });
    expect(byBucket.crawler).toMatchObject({ limit: 10, used: 0, remaining: 10 });
    expect(new Date(byBucket.scraper.reset_at).getUTCMinutes()).toBe(0);
    const admin = await createUser(a, 'admin');
    const adminStatus = await a.http.get('/api/rate-limit/status', admin.token);
    expect(adminStatus.body.buckets[0]).toMatchObject({ limit: null, remaining: null });
    expect((await a.http.get('/api/rate-limit/status')).status).toBe(401);
  });
});
