import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../utils/test-app.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
};

/** The earlier system's operators check the service with `curl http://host/`. */
describe('GET / (outside the /api prefix)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('answers 200 without a token: the service name, version and links to the docs and health', async () => {
    const res = await t.http.get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.body).toEqual({
      name: pkg.name,
      version: pkg.version,
      links: { docs: '/api/docs', openapi: '/api/docs-json', health: '/api/health' },
    });
    // The links work.
    expect((await t.http.get(res.body.links.docs)).status).toBe(200);
    expect((await t.http.get(res.body.links.openapi)).status).toBe(200);
    expect((await t.http.get(res.body.links.health)).status).toBe(200);
  });

  it('answers HEAD / too (load balancers and uptime checks use it)', async () => {
    const res = await t.http.request('HEAD', '/');
    expect(res.status).toBe(200);
  });

  it('is documented in Swagger as GET /', async () => {
    const doc = await t.http.get('/api/docs-json');
    expect(doc.body.paths['/']?.get?.responses).toHaveProperty('200');
    expect(doc.body.paths['/api']).toBeUndefined();
  });

  it('keeps every other route under /api: /health outside it is 404', async () => {
    expect((await t.http.get('/health')).status).toBe(404);
  });
});
