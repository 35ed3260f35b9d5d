import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import helmet from 'helmet';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELMET_OPTIONS, staticSecurityHeaders } from '../../src/security-headers.js';
import { SseClient } from '../utils/sse-client.js';
import { ProbeModule } from '../utils/probe.module.js';
import { createTestApp, createUser, waitFor, type TestApp } from '../utils/test-app.js';

const WEBHOOK_KEY = 'hot-path-webhook-key-0123456789';
const ORIGIN = 'https://app.example';

/** Collects the app's log lines (JSON) instead of writing them to stdout. */
class LogLines extends Writable {
  readonly text: string[] = [];
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.text.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    callback();
  }
  get lines(): Array<Record<string, unknown>> {
    return this.text.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
  requestLines(reqId: string) {
    return this.lines.filter((l) => l.msg === 'request completed' && l.req_id === reqId);
  }
}

/** The headers helmet's middleware writes on a real Node response, with the app's options. */
async function helmetOnARealResponse(): Promise<Record<string, string>> {
  const middleware = helmet(HELMET_OPTIONS);
  const server = createServer((req, res) => middleware(req, res, () => res.end('ok')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const headers: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      if (
        !['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(name)
      )
        headers[name] = value;
    });
    return headers;
  } finally {
    server.close();
  }
}

describe('HTTP hot path: security headers built once', () => {
  it('are exactly the headers helmet writes per request', async () => {
    expect(staticSecurityHeaders()).toEqual(await helmetOnARealResponse());
  });
});

describe('HTTP hot path', () => {
  const logs = new LogLines();
  let t: TestApp;
  const security = staticSecurityHeaders();

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        LOG_LEVEL: 'info',
        HTTP_BODY_LIMIT_BYTES: '4096',
        CRAWLER_WEBHOOK_API_KEY: WEBHOOK_KEY,
        CORS_ORIGINS: ORIGIN,
      },
      imports: [ProbeModule],
      logDestination: logs,
    });
  });
  afterAll(() => t.close());

  const expectPlatformHeaders = (headers: Headers) => {
    expect(headers.get('x-request-id')).toMatch(/^[\w.-]+$/);
    for (const [name, value] of Object.entries(security)) expect(headers.get(name)).toBe(value);
  };

  it('answers an unknown route with 404 in the common shape, with the request id and security headers', async () => {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const res = await t.http.request(method, '/api/nothing-here?x=1');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: `Cannot ${method} /api/nothing-here?x=1`,
      });
      expectPlatformHeaders(res.headers);
    }
  });

  it('sends the request id and security headers on every kind of answer', async () => {
    const user = await createUser(t);
    const answers = [
      await t.http.get('/api/health'),
      await t.http.get('/api/auth/me', user.token),
      await t.http.get('/api/auth/me'), // 401
      await t.http.request('POST', '/api/auth/login', { raw: '{"email": ' }), // 400
      await t.http.post('/api/auth/register', { email: 'not-an-email' }), // 422
      await t.http.post('/api/auth/register', { email: 'a@b.co', password: 'p'.repeat(5000) }), // 413
      await t.http.post('/api/crawler/log', { job_id: 'x', message: 'm' }), // 401 webhook
      await t.http.post('/api/test-probe/quota', { fail: true }, user.token), // 500
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 401, 400, 422, 413, 401, 500]);
    for (const answer of answers) expectPlatformHeaders(answer.headers);
  });

  it('answers CORS for a listed origin: preflight, plain answers, 404s and streams', async () => {
    const preflight = await t.http.request('OPTIONS', '/api/auth/me', {
      headers: { origin: ORIGIN, 'access-control-request-method': 'GET' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expectPlatformHeaders(preflight.headers);
    for (const path of ['/api/health', '/api/nothing-here']) {
      const res = await t.http.get(path, undefined, { origin: ORIGIN });
      expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(res.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
    }
    const other = await t.http.get('/api/health', undefined, { origin: 'https://evil.example' });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sends the security and CORS headers on a Server-Sent Events stream', async () => {
    const user = await createUser(t);
    const [{ id: jobId }] = await t.app
      .get(DataSource)
      .query<Array<{ id: string }>>(
        `INSERT INTO crawler_jobs (user_id, status, keywords, domain_count, priority, timeout_seconds) VALUES ($1, 'running', ARRAY['k'], 1, 10, 3600) RETURNING id`,
        [user.id],
      );
    const stream = await SseClient.open(`${t.baseUrl}/api/crawler/logs/${jobId}`, {
      authorization: `Bearer ${user.token}`,
      origin: ORIGIN,
    });
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toContain('text/event-stream');
      expect(stream.headers['x-request-id']).toBeTruthy();
      expect(stream.headers['access-control-allow-origin']).toBe(ORIGIN);
      for (const [name, value] of Object.entries(security))
        expect(stream.headers[name]).toBe(value);
    } finally {
      stream.close();
    }
  });

  it('logs one line per request with its id, method, URL, status and time, at info for 2xx and warn for 4xx', async () => {
    const ok = await t.http.get('/api/health', undefined, { 'x-request-id': 'hot-path-ok-1' });
    const missing = await t.http.get('/api/nothing-here', undefined, {
      'x-request-id': 'hot-path-404-1',
    });
    expect([ok.status, missing.status]).toEqual([200, 404]);
    const [okLine] = await waitFor(() => {
      const found = logs.requestLines('hot-path-ok-1');
      return found.length ? found : null;
    });
    const [missingLine] = await waitFor(() => {
      const found = logs.requestLines('hot-path-404-1');
      return found.length ? found : null;
    });
    expect(logs.requestLines('hot-path-ok-1')).toHaveLength(1);
    expect(logs.requestLines('hot-path-404-1')).toHaveLength(1);
    expect(okLine).toMatchObject({ level: 30, method: 'GET', url: '/api/health', status: 200 });
    expect(typeof okLine.ms).toBe('number');
    expect(missingLine).toMatchObject({ level: 40, url: '/api/nothing-here', status: 404 });
  });

  it('never logs tokens, API keys or authorization headers', async () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LWp3dC1wYXlsb2Fk.c2lnbmF0dXJlLXNlY3JldA';
    const answers = [
      await t.http.get(
        `/api/crawler/logs/6d1f9f8e-0000-4000-8000-000000000000?access_token=${jwt}`,
        undefined,
        { 'x-request-id': 'hot-path-secret-1' },
      ),
      await t.http.get('/api/auth/me', jwt, { 'x-request-id': 'hot-path-secret-2' }),
      await t.http.post('/api/crawler/log', { job_id: 'not-a-uuid', message: 'm' }, undefined, {
        'x-api-key': WEBHOOK_KEY,
        'x-request-id': 'hot-path-secret-3',
      }),
    ];
    expect(answers.map((a) => a.status)).toEqual([401, 401, 404]);
    await waitFor(() =>
      ['1', '2', '3'].every((n) => logs.requestLines(`hot-path-secret-${n}`).length),
    );
    const [sse] = logs.requestLines('hot-path-secret-1');
    expect(sse.url).toBe(
      '/api/crawler/logs/6d1f9f8e-0000-4000-8000-000000000000?access_token=[redacted]',
    );
    const all = logs.text.join('\n');
    expect(all).not.toContain(jwt);
    expect(all).not.toContain(WEBHOOK_KEY);
    expect(all.toLowerCase()).not.toContain('authorization');
  });

  it('writes an error line carrying the request id of the 500 it answered', async () => {
    const user = await createUser(t);
    const res = await t.http.post('/api/test-probe/quota', { fail: true }, user.token, {
      'x-request-id': 'hot-path-500-1',
    });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error',
    });
    const errorLine = await waitFor(() =>
      logs.lines.find((l) => l.context === 'HttpError' && l.req_id === 'hot-path-500-1'),
    );
    expect(errorLine.level).toBe(50);
    expect(String(errorLine.msg)).toContain('the costly action failed');
    const [requestLine] = await waitFor(() => {
      const found = logs.requestLines('hot-path-500-1');
      return found.length ? found : null;
    });
    expect(requestLine).toMatchObject({ level: 50, status: 500 });
  });
});
