import { describe, expect, inject, it } from 'vitest';
import { FakeGooglePlaces } from '../fakes/fake-google-places.js';
import { FakeScraperApi } from '../fakes/fake-scraper-api.js';
import { TcpProxy } from '../utils/tcp-proxy.js';
import { createTestApp, waitFor } from '../utils/test-app.js';

describe('Health: liveness and readiness', () => {
  it('liveness answers 200 while PostgreSQL and Redis are both unreachable; readiness answers 503', async () => {
    const pg = await new TcpProxy('127.0.0.1', 5432).start();
    const redis = await new TcpProxy('127.0.0.1', 6379).start();
    const databaseUrl = new URL(inject('databaseUrl'));
    databaseUrl.host = `127.0.0.1:${pg.port}`;
    const t = await createTestApp({
      env: {
        DATABASE_URL: databaseUrl.toString(),
        REDIS_URL: `redis://127.0.0.1:${redis.port}/0`,
      },
    });
    try {
      expect((await t.http.get('/api/health')).status).toBe(200);
      const [pgPort, redisPort] = [pg.port, redis.port];
      await Promise.all([pg.stop(), redis.stop()]);
      const live = await t.http.get('/api/health/live');
      expect(live.status).toBe(200);
      expect(live.body).toEqual({
        status: 'ok',
        role: 'all',
        uptime_seconds: expect.any(Number),
      });
      const ready = await waitFor(
        async () => {
          const res = await t.http.get('/api/health');
          return res.status === 503 ? res : undefined;
        },
        { what: 'readiness to notice' },
      );
      expect(ready.body.details.redis.status).toBe('down');
      expect(ready.body.details.database.status).toBe('down');
      await Promise.all([pg.start(pgPort), redis.start(redisPort)]);
      await waitFor(async () => (await t.http.get('/api/health')).status === 200, {
        what: 'both to come back',
      });
    } finally {
      await Promise.all([pg.stop(), redis.stop()]);
      await t.close();
    }
  });

  it("reports queue processors and the scraper provider's reachability as information, never as failure", async () => {
    const fake = await new FakeScraperApi().start();
    const reachable = await createTestApp({ env: { PYTHON_SCRAPER_API_URL: fake.url } });
    // Nothing listens on port 9 (discard) here: the provider is unreachable.
    const unreachable = await createTestApp({
      env: { PYTHON_SCRAPER_API_URL: 'http://127.0.0.1:9', APP_ROLE: 'api' },
    });
    try {
      const up = await reachable.http.get('/api/health');
      expect(up.status).toBe(200);
      expect(up.body.info.queue_workers).toEqual({ status: 'up', crawler: 1, scraper: 1 });
      expect(up.body.info.scraper_provider).toMatchObject({
        status: 'up',
        provider: 'python-api',
        reachable: true,
      });

      const down = await unreachable.http.get('/api/health');
      expect(down.status).toBe(200);
      expect(down.body.status).toBe('ok');
      // An API-only process with its own Redis prefix: no processor anywhere for its queues.
      expect(down.body.info.queue_workers).toEqual({ status: 'up', crawler: 0, scraper: 0 });
      expect(down.body.info.scraper_provider).toMatchObject({
        provider: 'python-api',
        reachable: false,
      });
    } finally {
      await reachable.close();
      await unreachable.close();
      await fake.stop();
    }
  });

  it('reports every routed provider; one of them down leaves readiness at 200 with that provider unreachable', async () => {
    const google = await new FakeGooglePlaces().start();
    // google-places is the default, premium's and admin's, and the fallback; python-api serves
    // users and is down (nothing listens on port 9).
    const t = await createTestApp({
      env: {
        APP_ROLE: 'api',
        SCRAPER_PROVIDER: 'google-places',
        SCRAPER_PROVIDER_USER: 'python-api',
        SCRAPER_PROVIDER_FALLBACK: 'google-places',
        GOOGLE_MAPS_API_KEY: 'test-google-key',
        GOOGLE_PLACES_API_BASE: google.url,
        PYTHON_SCRAPER_API_URL: 'http://127.0.0.1:9',
      },
    });
    try {
      const res = await t.http.get('/api/health');
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('ok');
      expect(res.body.error).toEqual({});
      const providers = res.body.info.scraper_providers;
      expect(Object.keys(providers).sort()).toEqual(['google-places', 'python-api', 'status']);
      expect(providers.status).toBe('up');
      expect(providers['python-api']).toEqual({
        provider: 'python-api',
        reachable: false,
        configured: true,
        roles: ['user'],
        default: false,
        fallback: false,
        checked_at: expect.any(String),
        detail: expect.any(String),
      });
      expect(providers['google-places']).toEqual({
        provider: 'google-places',
        reachable: true,
        configured: true,
        roles: ['premium', 'admin'],
        default: true,
        fallback: true,
        checked_at: expect.any(String),
        detail: 'HTTP 404',
      });
      // The earlier field stays: SCRAPER_PROVIDER alone, in its earlier shape.
      expect(res.body.info.scraper_provider).toEqual({
        status: 'up',
        provider: 'google-places',
        reachable: true,
        checked_at: providers['google-places'].checked_at,
        detail: 'HTTP 404',
      });
      // The health check never sent Google a billed request.
      expect(google.billed).toBe(0);
      expect(google.requests).toEqual([]);
      // Swagger documents the field (not only Terminus' generic example).
      const doc = await t.http.get('/api/docs-json');
      const ready = doc.body.paths['/api/health'].get.responses['200'].content['application/json'];
      expect(Object.keys(ready.schema.properties.info.example)).toContain('scraper_providers');
      expect(doc.body.paths['/api/health'].get.description).toContain('scraper_providers');
    } finally {
      await t.close();
      await google.stop();
    }
  });
});
