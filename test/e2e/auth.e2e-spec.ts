import { randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, createUser, type TestApp } from '../utils/test-app.js';

describe('Auth', () => {
  let t: TestApp;
  const adminEmail = `boot-admin-${randomUUID()}@example.com`;

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        ADMIN_EMAIL: adminEmail,
        ADMIN_PASSWORD: 'bootstrap-admin-pass',
        JWT_SECRET: 'a-test-secret-of-enough-length',
      },
    });
  });
  afterAll(() => t.close());

  it('registers a user and answers 201 with the user and a working token', async () => {
    const email = `Ana-${randomUUID()}@Example.com`;
    const res = await t.http.post('/api/auth/register', {
      email,
      password: 'password123',
      name: 'Ana',
    });
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({ email: email.toLowerCase(), name: 'Ana', role: 'user' });
    expect(res.body.user.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T.*Z$/);
    expect(res.body.user).not.toHaveProperty('password_hash');
    const me = await t.http.get('/api/auth/me', res.body.access_token);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ ...res.body.user });
  });

  it('stores the password hashed with argon2, never in clear', async () => {
    const user = await createUser(t);
    const [row] = await t.app
      .get(DataSource)
      .query('SELECT password_hash FROM users WHERE id = $1', [user.id]);
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.password_hash).not.toContain(user.password);
  });

  it('answers 409 when the email is already registered, whatever its case', async () => {
    const user = await createUser(t);
    const res = await t.http.post('/api/auth/register', {
      email: user.email.toUpperCase(),
      password: 'password123',
    });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
  });

  it('answers 422 naming every bad field of a weak registration', async () => {
    const res = await t.http.post('/api/auth/register', {
      email: 'not-an-email',
      password: 'short',
    });
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('Unprocessable Entity');
    const messages = (res.body.message as string[]).join('\n');
    expect(messages).toMatch(/email must be an email/);
    expect(messages).toMatch(/password must be longer than or equal to 8 characters/);
  });

  it('logs in with the right password and answers 401 on a wrong one', async () => {
    const user = await createUser(t);
    const ok = await t.http.post('/api/auth/login', { email: user.email, password: user.password });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: t.config.auth.jwtExpiresInSeconds,
      user: { id: user.id },
    });
    const bad = await t.http.post('/api/auth/login', {
      email: user.email,
      password: 'wrong-password',
    });
    expect(bad.status).toBe(401);
    expect(bad.body.message).toBe('Invalid email or password');
    const unknown = await t.http.post('/api/auth/login', {
      email: `nobody-${randomUUID()}@x.io`,
      password: 'whatever1',
    });
    expect(unknown.status).toBe(401);
  });

  describe('me', () => {
    it('answers 401 without a token', async () => {
      const res = await t.http.get('/api/auth/me');
      expect(res.status).toBe(401);
      expect(res.body.message).toBe('Missing bearer token');
    });

    it('answers 401 for an expired token', async () => {
      const user = await createUser(t);
      const jwt = new JwtService({ secret: t.config.auth.jwtSecret });
      const expired = await jwt.signAsync({
        sub: user.id,
        role: 'user',
        exp: Math.floor(Date.now() / 1000) - 10,
      });
      const res = await t.http.get('/api/auth/me', expired);
      expect(res.status).toBe(401);
      expect(res.body.message).toMatch(/expired/i);
    });

    it('answers 401 for a tampered token', async () => {
      const user = await createUser(t);
      const [header, payload, signature] = user.token.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString(
        'base64url',
      );
      expect((await t.http.get('/api/auth/me', `${header}.${forged}.${signature}`)).status).toBe(
        401,
      );
      const otherKey = await new JwtService({ secret: 'some-other-secret-entirely' }).signAsync({
        sub: user.id,
        role: 'admin',
      });
      expect((await t.http.get('/api/auth/me', otherKey)).status).toBe(401);
    });

    it('does not take a token from the query string on ordinary routes', async () => {
      const user = await createUser(t);
      expect((await t.http.get(`/api/auth/me?access_token=${user.token}`)).status).toBe(401);
    });
  });

  describe('admin', () => {
    it('creates the first admin from ADMIN_EMAIL / ADMIN_PASSWORD, once', async () => {
      const login = await t.http.post('/api/auth/login', {
        email: adminEmail,
        password: 'bootstrap-admin-pass',
      });
      expect(login.status).toBe(200);
      expect(login.body.user.role).toBe('admin');
      // A second process starting with the same settings changes nothing.
      const again = await createTestApp({
        env: { ADMIN_EMAIL: adminEmail, ADMIN_PASSWORD: 'bootstrap-admin-pass' },
      });
      await again.close();
      const rows = await t.app
        .get(DataSource)
        .query('SELECT count(*)::int AS n FROM users WHERE email = $1', [adminEmail]);
      expect(rows[0].n).toBe(1);
    });

    it('forbids admin routes to other roles with 403', async () => {
      for (const role of ['user', 'premium'] as const) {
        const user = await createUser(t, role);
        const res = await t.http.get('/api/admin/users', user.token);
        expect(res.status).toBe(403);
      }
    });

    it('lists users paged and changes a role, which takes effect on the next request', async () => {
      const admin = await createUser(t, 'admin');
      const user = await createUser(t);
      const page = await t.http.get('/api/admin/users?page=1&limit=2', admin.token);
      expect(page.status).toBe(200);
      expect(page.body.data).toHaveLength(2);
      expect(page.body.meta).toMatchObject({ page: 1, limit: 2 });
      expect(page.body.meta.total).toBeGreaterThanOrEqual(2);

      expect((await t.http.get('/api/admin/users', user.token)).status).toBe(403);
      const changed = await t.http.patch(
        `/api/admin/users/${user.id}`,
        { role: 'admin' },
        admin.token,
      );
      expect(changed.status).toBe(200);
      expect(changed.body.role).toBe('admin');
      expect((await t.http.get('/api/admin/users', user.token)).status).toBe(200);
    });

    it('rejects an unknown role with 422 and an unknown user with 404', async () => {
      const admin = await createUser(t, 'admin');
      const user = await createUser(t);
      const bad = await t.http.patch(
        `/api/admin/users/${user.id}`,
        { role: 'superuser' },
        admin.token,
      );
      expect(bad.status).toBe(422);
      const missing = await t.http.patch(
        `/api/admin/users/${randomUUID()}`,
        { role: 'premium' },
        admin.token,
      );
      expect(missing.status).toBe(404);
    });

    it('rejects a limit over 100 with 422', async () => {
      const admin = await createUser(t, 'admin');
      const res = await t.http.get('/api/admin/users?limit=500', admin.token);
      expect(res.status).toBe(422);
      expect(res.body.message.join(' ')).toMatch(/limit/);
    });
  });

  it('throttles login per IP and email: 429 after a handful of attempts a minute', async () => {
    const user = await createUser(t);
    const statuses: number[] = [];
    for (let i = 0; i < t.config.auth.loginThrottle.limit + 2; i++) {
      statuses.push(
        (await t.http.post('/api/auth/login', { email: user.email, password: 'wrong-password' }))
          .status,
      );
    }
    expect(statuses.slice(0, t.config.auth.loginThrottle.limit).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    // Even the right password is refused while blocked…
    const blocked = await t.http.post('/api/auth/login', {
      email: user.email,
      password: user.password,
    });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // …but another account from the same IP is not affected.
    const other = await createUser(t);
    expect(
      (await t.http.post('/api/auth/login', { email: other.email, password: other.password }))
        .status,
    ).toBe(200);
  });
});
