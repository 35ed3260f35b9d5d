import type { UserRole } from '@app/config';

/**
 * The per-process caller cache (see CallerCache). Invalidation is pushed through Redis pub/sub;
 * the TTL only bounds how long a missed message (a writer that could not reach Redis while this
 * process could, a change made with SQL by hand) can leave a stale entry.
 */
export const CALLER_CACHE = {
  ttlMs: 60_000,
  maxEntries: 50_000,
  /** Redis channel (under REDIS_KEY_PREFIX) carrying `{session}` / `{user}` invalidations. */
  channel: ['auth', 'invalidate'],
  /** While a broadcast fails, retry it this often until the TTL has made it moot. */
  publishRetryMs: 1_000,
  /**
   * How long a change waits for every listening process to confirm it applied the change before
   * the change's HTTP answer goes out anyway (a process that is stuck or just lost Redis; its
   * entries then last until its reconnect clears them or the TTL does).
   */
  ackTimeoutMs: 1_000,
} as const;

/** Access tokens already verified by this process, so a signature is checked once per process. */
export const VERIFIED_TOKENS_MAX = 50_000;

/** Random bytes in a refresh token's secret part (256 bits: SHA-256 is then a safe hash). */
export const REFRESH_TOKEN_BYTES = 32;

/** Dead sessions (expired or revoked) are kept this long for audit, then deleted at the owner's next login. */
export const DEAD_SESSION_RETENTION = '7 days';

/** Why a session ended (`auth_sessions.revoked_reason`). */
export const REVOKE_REASON = {
  logout: 'logout',
  reuse: 'refresh_token_reuse',
  admin: 'admin_revoked',
  demotion: 'role_demoted',
} as const;
export type RevokeReason = (typeof REVOKE_REASON)[keyof typeof REVOKE_REASON];

/** A role change to a lower rank is a demotion and ends every session of the user. */
export const ROLE_RANK: Record<UserRole, number> = { user: 0, premium: 1, admin: 2 };
