import { randomBytes, randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { inject } from 'vitest';
import { loadAppConfig, type AppConfig, type UserRole } from '@app/config';
import { createHttpApp, type HttpAppOptions } from '../../src/app.setup.js';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  http: HttpClient;
  close(): Promise<void>;
}

/** A fresh Redis namespace, so queues, quotas and streams of one test file never meet another's. */
export const uniquePrefix = () => `${inject('redisPrefix')}-${randomBytes(4).toString('hex')}`;

export interface TestAppOptions extends HttpAppOptions {
  env?: Record<string, string | undefined>;
}

/**
 * Boots the real app (same setup as production) on a random port against the run's
 * database and real Redis. Pass the same REDIS_KEY_PREFIX to two apps to make them two
 * processes of one deployment.
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const { config } = loadAppConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: inject('databaseUrl'),
    REDIS_KEY_PREFIX: uniquePrefix(),
    DATABASE_POOL_SIZE: '5',
    METRICS_PORT: '0', // many apps per test process: each metrics server on a free port
    ...options.env,
  });
  const app = await createHttpApp(config, {
    imports: options.imports,
    logDestination: options.logDestination,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const baseUrl = `http://127.0.0.1:${port}`;
  return { app, config, baseUrl, http: new HttpClient(baseUrl), close: () => app.close() };
}

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A small fetch wrapper: JSON in, JSON (or text) out, never throws on a status. */
export class HttpClient {
  constructor(readonly baseUrl: string) {}

  async request<T = any>(
    method: string,
    path: string,
    options: {
      body?: unknown;
      token?: string;
      headers?: Record<string, string>;
      raw?: string;
    } = {},
  ): Promise<HttpResult<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined = options.raw;
    if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(options.body);
    } else if (options.raw !== undefined) {
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    if (response.headers.get('content-type')?.includes('application/json') && text)
      parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: parsed as T };
  }

  get<T = any>(path: string, token?: string, headers?: Record<string, string>) {
    return this.request<T>('GET', path, { token, headers });
  }
  post<T = any>(path: string, body?: unknown, token?: string, headers?: Record<string, string>) {
    return this.request<T>('POST', path, { body, token, headers });
  }
  patch<T = any>(path: string, body?: unknown, token?: string) {
    return this.request<T>('PATCH', path, { body, token });
  }
  delete<T = any>(path: string, token?: string) {
    return this.request<T>('DELETE', path, { token });
  }
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  role: UserRole;
  token: string;
}

/** Registers a user through the API; other roles are then set in the database (as an admin would). */
export async function createUser(testApp: TestApp, role: UserRole = 'user'): Promise<TestUser> {
  const email = `${role}-${randomUUID()}@example.com`;
  const password = 'a-long-enough-password';
  const res = await testApp.http.post('/api/auth/register', {
    email,
    password,
    name: `Test ${role}`,
  });
  if (res.status !== 201)
    throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  const id = res.body.user.id as string;
  if (role !== 'user') {
    await testApp.app.get(DataSource).query('UPDATE users SET role = $1 WHERE id = $2', [role, id]);
  }
  return { id, email, password, role, token: res.body.access_token as string };
}

/** Polls `check` until it returns a truthy value (no fixed sleeps). */
export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 10_000, intervalMs = 25, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
