import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbeController, ProbeModule } from '../utils/probe.module.js';
import { TcpProxy } from '../utils/tcp-proxy.js';
import { createTestApp, createUser, waitFor, type TestApp } from '../utils/test-app.js';

describe('HTTP platform', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { HTTP_BODY_LIMIT_BYTES: '4096' } });
  });
  afterAll(() => t.close());

  it('answers malformed JSON with 400 in the common error shape', async () => {
    const res = await t.http.request('POST', '/api/auth/login', { raw: '{"email": "a@b.co",' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(typeof res.body.message).toBe('string');
  });

  it('rejects an unknown body field with 422 instead of storing it', async () => {
    const res = await t.http.post('/api/auth/register', {
      email: 'x@example.com',
      password: 'password123',
      role: 'admin',
    });
    expect(res.status).toBe(422);
    expect(res.body.message).toContain('property role should not exist');
  });

  it('answers a body over the configured limit with 413', async () => {
    const res = await t.http.post('/api/auth/register', {
      email: 'x@example.com',
      password: 'p'.repeat(5000),
    });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
  });

  it('answers an unknown route with 404 in the common shape', async () => {
    const res = await t.http.get('/api/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it('returns a request id on every response, echoing a sane incoming one', async () => {
    const echoed = await t.http.get('/api/health', undefined, { 'x-request-id': 'trace-abc.123' });
    expect(echoed.headers.get('x-request-id')).toBe('trace-abc.123');
    const fresh = await t.http.get('/api/health', undefined, {
      'x-request-id': 'bad id with spaces',
    });
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends security headers (helmet)', async () => {
    const res = await t.http.get('/api/health');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('serves Swagger UI and an OpenAPI document with bearer auth and the platform endpoints', async () => {
    const ui = await t.http.get('/api/docs');
    expect(ui.status).toBe(200);
    expect(String(ui.body)).toContain('swagger');
    const doc = await t.http.get('/api/docs-json');
    expect(doc.status).toBe(200);
    expect(doc.body.components.securitySchemes.bearer).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    for (const path of [
      '/api/auth/register',
      '/api/auth/login',
      '/api/auth/me',
      '/api/admin/users',
      '/api/admin/users/{id}',
      '/api/rate-limit/status',
      '/api/health',
    ]) {
      expect(Object.keys(doc.body.paths)).toContain(path);
    }
    const register = doc.body.components.schemas.RegisterDto;
    expect(register.required).toEqual(expect.arrayContaining(['email', 'password']));
    expect(register.properties.password.minLength).toBe(8);
    expect(doc.body.paths['/api/auth/register'].post.responses).toHaveProperty('409');
  });

  it('reports database and Redis up on /api/health', async () => {
    const res = await t.http.get('/api/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      info: { database: { status: 'up' }, redis: { status: 'up' } },
    });
  });

  it('keeps a user it answered 201 for', async () => {
    const user = await createUser(t);
    const login = await t.http.post('/api/auth/login', {
      email: user.email,
      password: user.password,
    });
    expect(login.status).toBe(200);
  });
});

describe('Health when Redis is unreachable', () => {
  it('answers 503 naming redis as down, and 200 again once it is back', async () => {
    const proxy = await new TcpProxy('127.0.0.1', 6379).start();
    const t = await createTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}/0` } });
    try {
      expect((await t.http.get('/api/health')).status).toBe(200);
      const port = proxy.port;
      await proxy.stop();
      const down = await t.http.get('/api/health');
      expect(down.status).toBe(503);
      expect(down.body.details.redis.status).toBe('down');
      expect(down.body.details.database.status).toBe('up');
      // A costly request that needs Redis answers 503, not 500, while it is down.
      const user = await t.http.post('/api/auth/login', {
        email: 'x@example.com',
        password: 'whatever1',
      });
      expect(user.status).toBe(503);
      await proxy.start(port);
      await waitFor(async () => (await t.http.get('/api/health')).status === 200, {
        what: 'redis to come back',
      });
    } finally {
      // Closed while Redis is reachable: Bull's queue.close() waits for its connections.
      await t.close();
      await proxy.stop();
    }
  });
});

describe('Graceful shutdown', () => {
  it('finishes an in-flight request on a keep-alive connection, then closes without waiting for keep-alive', async () => {
    const t = await createTestApp({ imports: [ProbeModule] });
    const agent = new http.Agent({ keepAlive: true });
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        http
          .get(`${t.baseUrl}${path}`, { agent }, (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          })
          .on('error', reject);
      });
    try {
      const inFlight = get('/api/test-probe/slow?ms=400');
      await waitFor(() => ProbeController.slowInFlight > 0, {
        what: 'the request to reach the handler',
      });
      let closed = false;
      const closing = t.close().then(() => (closed = true));
      const answer = await inFlight;
      expect(answer).toEqual({ status: 200, body: JSON.stringify({ slept: 400 }) });
      // Fastify's keep-alive timeout is 72 s: closing must not wait for it.
      await waitFor(() => closed, { timeoutMs: 5_000, what: 'the server to close' });
      await closing;
    } finally {
      agent.destroy();
    }
  });
});
