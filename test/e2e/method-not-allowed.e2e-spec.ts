import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../utils/test-app.js';

const PLACE = '00000000-0000-4000-8000-000000000000';

describe('A path that exists with another method', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it.each([
    ['GET', '/api/auth/login', 'POST'],
    ['DELETE', '/api/auth/me', 'GET, HEAD'],
    ['PUT', `/api/places/${PLACE}`, 'GET, HEAD, DELETE'],
    ['POST', `/api/places/${PLACE}?x=1`, 'GET, HEAD, DELETE'],
    ['PATCH', '/api/crawler/start', 'POST'],
  ])('answers %s %s with 405 and Allow: %s, before any auth', async (method, path, allow) => {
    const res = await t.http.request(method, path);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(res.body).toMatchObject({ statusCode: 405, error: 'Method Not Allowed' });
    expect(res.body.message).toContain(allow);
  });

  it('still answers 404 for a path no method serves, with or without a query string', async () => {
    for (const path of ['/api/nothing-here', '/api/places/a/b', '/api/auth/me/extra?x=1']) {
      const res = await t.http.request('DELETE', path);
      expect(res.status).toBe(404);
      expect(res.headers.get('allow')).toBeNull();
      expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    }
  });
});
