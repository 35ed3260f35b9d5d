import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, createUser, type TestApp } from '../utils/test-app.js';

const LISTED = 'https://app.example.com';
const OTHER_LISTED = 'http://localhost:5173';
const EVIL = 'http://evil.example';

/** A browser's preflight: OPTIONS with Origin and the Access-Control-Request-* headers. */
const preflight = (t: TestApp, path: string, origin: string, method: string) =>
  fetch(`${t.baseUrl}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'authorization,content-type',
    },
  });

const corsHeadersOf = (headers: Headers) =>
  [...headers.keys()].filter((name) => name.startsWith('access-control-'));

const allowedMethods = (headers: Headers) =>
  (headers.get('access-control-allow-methods') ?? '').split(',').map((m) => m.trim());

/** Every method a route of the API answers, read from the OpenAPI document. */
async function methodsTheApiUses(t: TestApp): Promise<string[]> {
  const doc = (await t.http.get('/api/docs-json')).body as {
    paths: Record<string, Record<string, unknown>>;
  };
  const methods = new Set<string>();
  for (const operations of Object.values(doc.paths))
    for (const method of Object.keys(operations)) methods.add(method.toUpperCase());
  return [...methods];
}

describe('CORS with listed origins and * (CORS_ORIGINS=https://app.example.com,http://localhost:5173,*)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { CORS_ORIGINS: `${LISTED}, ${OTHER_LISTED},*` } });
  });
  afterAll(() => t.close());

  it('passes the preflight of every method the API uses for a listed origin, with credentials', async () => {
    const methods = await methodsTheApiUses(t);
    expect(methods).toEqual(expect.arrayContaining(['GET', 'POST', 'PATCH', 'DELETE']));
    for (const method of methods) {
      const res = await preflight(
        t,
        '/api/places/00000000-0000-4000-8000-000000000000',
        LISTED,
        method,
      );
      expect(res.status, method).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(LISTED);
      expect(res.headers.get('access-control-allow-credentials')).toBe('true');
      expect(allowedMethods(res.headers)).toContain(method);
      expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(
        /authorization.*content-type/,
      );
      expect(res.headers.get('vary')).toMatch(/origin/i);
    }
  });

  it('answers any other origin with * and never with credentials', async () => {
    for (const method of ['DELETE', 'PATCH']) {
      const res = await preflight(t, '/api/admin/users/x', EVIL, method);
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      expect(allowedMethods(res.headers)).toContain(method);
      expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(
        /authorization.*content-type/,
      );
    }
    const actual = await t.http.get('/api/health', undefined, { origin: EVIL });
    expect(actual.headers.get('access-control-allow-origin')).toBe('*');
    expect(actual.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('lets a listed origin DELETE a place and PATCH a role, with the CORS headers on the answers', async () => {
    const admin = await createUser(t, 'admin');
    const user = await createUser(t);
    const patched = await t.http.request('PATCH', `/api/admin/users/${user.id}`, {
      body: { role: 'premium' },
      token: admin.token,
      headers: { origin: OTHER_LISTED },
    });
    expect(patched.status).toBe(200);
    expect(patched.headers.get('access-control-allow-origin')).toBe(OTHER_LISTED);
    expect(patched.headers.get('access-control-allow-credentials')).toBe('true');
    expect(patched.headers.get('access-control-expose-headers')).toMatch(/Retry-After/);
    const deleted = await t.http.request(
      'DELETE',
      '/api/places/00000000-0000-4000-8000-000000000000',
      { token: admin.token, headers: { origin: LISTED } },
    );
    expect(deleted.status).toBe(404);
    expect(deleted.headers.get('access-control-allow-origin')).toBe(LISTED);
  });
});

describe('CORS with * only (the default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { CORS_ORIGINS: '*' } });
  });
  afterAll(() => t.close());

  it('does not reflect an origin with credentials', async () => {
    const res = await preflight(t, '/api/auth/me', EVIL, 'GET');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    const actual = await t.http.get('/api/health', undefined, { origin: EVIL });
    expect(actual.headers.get('access-control-allow-origin')).toBe('*');
    expect(actual.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('passes the preflight of DELETE and PATCH', async () => {
    for (const method of ['DELETE', 'PATCH']) {
      const res = await preflight(t, '/api/places/x', EVIL, method);
      expect(res.status).toBe(204);
      expect(allowedMethods(res.headers)).toContain(method);
    }
  });
});

describe('CORS with listed origins only (CORS_ORIGINS=https://app.example.com)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { CORS_ORIGINS: LISTED } });
  });
  afterAll(() => t.close());

  it('gives the listed origin credentials and every method', async () => {
    const res = await preflight(t, '/api/places/x', LISTED, 'DELETE');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(LISTED);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(allowedMethods(res.headers)).toEqual(expect.arrayContaining(['DELETE', 'PATCH']));
  });

  it('sends no CORS header at all to an origin not listed, preflight or not', async () => {
    for (const method of ['GET', 'DELETE', 'PATCH']) {
      const res = await preflight(t, '/api/places/x', EVIL, method);
      expect(corsHeadersOf(res.headers), method).toEqual([]);
    }
    const actual = await t.http.get('/api/health', undefined, { origin: EVIL });
    expect(actual.status).toBe(200);
    expect(corsHeadersOf(actual.headers)).toEqual([]);
  });
});
