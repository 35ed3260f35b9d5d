import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, createUser, type TestApp, type TestUser } from '../utils/test-app.js';

// Small explicit limits so each case is a handful of logins; the defaults are documented in
// docs/security.md and checked in the config spec.
const ADDRESS_LIMIT = 5;
const ACCOUNT_LIMIT = 8;
const THROTTLE_ENV = {
  LOGIN_THROTTLE_LIMIT: String(ADDRESS_LIMIT),
  LOGIN_THROTTLE_TTL_SECONDS: '60',
  LOGIN_ACCOUNT_THROTTLE_LIMIT: String(ACCOUNT_LIMIT),
  LOGIN_ACCOUNT_THROTTLE_TTL_SECONDS: '600',
};

let nextAddress = 1;
/** A distinct address from TEST-NET-3 per call. */
const freshAddress = () => {
  const n = nextAddress++;
  return `203.0.${113 + Math.floor(n / 250)}.${(n % 250) + 1}`;
};

const login = (t: TestApp, email: string, password: string, forwardedFor?: string) =>
  t.http.post(
    '/api/auth/login',
    { email, password },
    undefined,
    forwardedFor ? { 'x-forwarded-for': forwardedFor } : undefined,
  );

const wrong = 'not-the-password';

describe('Login throttle without trusted proxies (the default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: THROTTLE_ENV });
  });
  afterAll(() => t.close());

  it('ignores X-Forwarded-For: 20 wrong passwords, each "from" a new address, get 429s', async () => {
    const user = await createUser(t);
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++)
      statuses.push((await login(t, user.email, wrong, freshAddress())).status);
    expect(statuses.slice(0, ADDRESS_LIMIT)).toEqual(Array(ADDRESS_LIMIT).fill(401));
    expect(statuses.slice(ADDRESS_LIMIT)).toEqual(Array(20 - ADDRESS_LIMIT).fill(429));
  });

  it('refuses the right password with a spoofed header while the real address is locked', async () => {
    const user = await createUser(t);
    for (let i = 0; i < ADDRESS_LIMIT; i++)
      expect((await login(t, user.email, wrong)).status).toBe(401);
    expect((await login(t, user.email, wrong)).status).toBe(429);
    const spoofed = await login(t, user.email, user.password, freshAddress());
    expect(spoofed.status).toBe(429);
    expect(Number(spoofed.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it(
    'lets exactly the limit through when the attempts arrive at once',
    { timeout: 120_000 },
    async () => {
      const user = await createUser(t);
      for (let round = 0; round < 2; round++) {
        const email = round === 0 ? user.email : `nobody-${randomUUID()}@example.com`;
        const statuses = await Promise.all(
          Array.from({ length: 15 }, () => login(t, email, wrong, freshAddress())),
        );
        expect(statuses.filter((r) => r.status === 401)).toHaveLength(ADDRESS_LIMIT);
        expect(statuses.filter((r) => r.status === 429)).toHaveLength(15 - ADDRESS_LIMIT);
      }
    },
  );
});

describe('Login throttle behind a trusted proxy (TRUSTED_PROXIES=127.0.0.1)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { ...THROTTLE_ENV, TRUSTED_PROXIES: '127.0.0.1' } });
  });
  afterAll(() => t.close());

  const lockAddress = async (user: TestUser, address: string) => {
    for (let i = 0; i < ADDRESS_LIMIT; i++)
      expect((await login(t, user.email, wrong, address)).status).toBe(401);
    expect((await login(t, user.email, wrong, address)).status).toBe(429);
  };

  it('uses the forwarded address: a locked address does not lock the account elsewhere', async () => {
    const user = await createUser(t);
    const attacker = freshAddress();
    await lockAddress(user, attacker);
    expect((await login(t, user.email, user.password, attacker)).status).toBe(429);
    // The owner, at another address, still gets in (under the per-account limit).
    expect((await login(t, user.email, user.password, freshAddress())).status).toBe(200);
  });

  it('takes the client address the proxy appended, not one the client forged before it', async () => {
    const user = await createUser(t);
    const real = freshAddress();
    await lockAddress(user, real);
    // The client sends `X-Forwarded-For: <forged>`; the proxy appends the real address.
    expect((await login(t, user.email, user.password, `${freshAddress()}, ${real}`)).status).toBe(
      429,
    );
  });

  it('locks an account tried from many addresses, at a higher limit than per address', async () => {
    const user = await createUser(t);
    const statuses: number[] = [];
    for (let i = 0; i < ACCOUNT_LIMIT + 3; i++)
      statuses.push((await login(t, user.email, wrong, freshAddress())).status);
    expect(statuses.slice(0, ACCOUNT_LIMIT)).toEqual(Array(ACCOUNT_LIMIT).fill(401));
    expect(statuses.slice(ACCOUNT_LIMIT)).toEqual([429, 429, 429]);
    const owner = await login(t, user.email, user.password, freshAddress());
    expect(owner.status).toBe(429);
    expect(owner.body.message).toMatch(/too many login attempts/i);
    expect(Number(owner.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another account, tried from the same addresses, is not affected.
    const other = await createUser(t);
    expect((await login(t, other.email, other.password, freshAddress())).status).toBe(200);
  });

  it('keeps the owner in where they logged in before, while strangers lock the account elsewhere', async () => {
    const user = await createUser(t);
    const home = freshAddress();
    // (That first login, from a then unknown address, counted against the account.)
    expect((await login(t, user.email, user.password, home)).status).toBe(200);
    for (let i = 0; i < ACCOUNT_LIMIT - 1; i++)
      expect((await login(t, user.email, wrong, freshAddress())).status).toBe(401);
    expect((await login(t, user.email, user.password, freshAddress())).status).toBe(429);
    // At home the account lock does not apply; the per-address limit (counting both
    // successful logins) still does.
    expect((await login(t, user.email, user.password, home)).status).toBe(200);
    for (let i = 0; i < ADDRESS_LIMIT - 2; i++)
      expect((await login(t, user.email, wrong, home)).status).toBe(401);
    expect((await login(t, user.email, wrong, home)).status).toBe(429);
  });

  it('shares the account count between API processes', { timeout: 120_000 }, async () => {
    const second = await createTestApp({
      env: {
        ...THROTTLE_ENV,
        TRUSTED_PROXIES: '127.0.0.1',
        REDIS_KEY_PREFIX: t.config.redis.keyPrefix,
      },
    });
    try {
      const email = `target-${randomUUID()}@example.com`;
      const statuses = await Promise.all(
        Array.from({ length: ACCOUNT_LIMIT + 6 }, (_, i) =>
          login(i % 2 ? second : t, email, wrong, freshAddress()),
        ),
      );
      expect(statuses.filter((r) => r.status === 401)).toHaveLength(ACCOUNT_LIMIT);
      expect(statuses.filter((r) => r.status === 429)).toHaveLength(6);
    } finally {
      await second.close();
    }
  });

  // Every attempt let through costs an argon2 verification: generous time on a busy machine.
  it(
    'counts the account limit exactly when attempts from many addresses arrive at once',
    { timeout: 120_000 },
    async () => {
      for (let round = 0; round < 2; round++) {
        const email = `target-${randomUUID()}@example.com`;
        const statuses = await Promise.all(
          Array.from({ length: ACCOUNT_LIMIT + 8 }, () => login(t, email, wrong, freshAddress())),
        );
        expect(statuses.filter((r) => r.status === 401)).toHaveLength(ACCOUNT_LIMIT);
        expect(statuses.filter((r) => r.status === 429)).toHaveLength(8);
      }
    },
  );
});
