import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { JwtService } from '@nestjs/jwt';
import { DataSource, type EntityManager } from 'typeorm';
import { AppConfig, type UserRole } from '@app/config';
import {
  DEAD_SESSION_RETENTION,
  REFRESH_TOKEN_BYTES,
  REVOKE_REASON,
  type RevokeReason,
} from './auth.constants.js';
import { CallerCache } from './caller-cache.js';
import type { SessionTokensDto } from './dto/auth.dto.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** SHA-256 suffices for a 256-bit random secret: there is nothing to brute-force. */
const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

/** A refresh token is `<session id>.<secret>`: the id finds the session, the secret proves it. */
function newRefreshToken(sessionId: string): { token: string; hash: string } {
  const token = `${sessionId}.${randomBytes(REFRESH_TOKEN_BYTES).toString('base64url')}`;
  return { token, hash: sha256(token) };
}

function parseRefreshToken(token: string): { sessionId: string; hash: string } | null {
  const dot = token.indexOf('.');
  const sessionId = token.slice(0, dot);
  if (dot === -1 || !UUID.test(sessionId) || token.length - dot - 1 < 32) return null;
  return { sessionId, hash: sha256(token) };
}

/** Rows of any statement (TypeORM's `query()` answers `[rows, count]` for UPDATE and DELETE). */
async function rows<T>(manager: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  const runner = manager.queryRunner ?? manager.dataSource.createQueryRunner();
  try {
    return (await runner.query(sql, params, true)).records as T[];
  } finally {
    if (!manager.queryRunner) await runner.release();
  }
}

/**
 * Sessions: one per sign-in, the `sid` of its access tokens and the family of its refresh
 * tokens. Only the current refresh token's hash is stored; a refresh replaces it in one
 * conditional UPDATE, so of several requests presenting the same token exactly one wins. A
 * token of a live session that is not its current one has already been rotated: someone is
 * replaying it (or two clients share it), so the whole session is revoked.
 */
@Injectable()
export class SessionsService {
  private readonly logger = new Logger(SessionsService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
    private readonly callers: CallerCache,
  ) {}

  /** Opens a session for a user who just proved who they are (login, register). */
  async start(user: { id: string; role: UserRole }): Promise<SessionTokensDto> {
    const sessionId = randomUUID();
    const refresh = newRefreshToken(sessionId);
    const { manager } = this.dataSource;
    // The owner's long-dead sessions go now: bounded work, on an indexed column, at a rare moment.
    await rows(
      manager,
      `DELETE FROM auth_sessions WHERE user_id = $1
          AND (expires_at < now() - $2::interval OR revoked_at < now() - $2::interval)`,
      [user.id, DEAD_SESSION_RETENTION],
    );
    await rows(
      manager,
      `INSERT INTO auth_sessions (id, user_id, refresh_token_hash, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
      [sessionId, user.id, refresh.hash, this.config.auth.refreshTokenTtlSeconds],
    );
    return this.tokens(user, sessionId, refresh.token);
  }

  /** Rotates a refresh token: a new access token and a new refresh token; the old one is spent. */
  async refresh(token: string): Promise<SessionTokensDto> {
    const parsed = parseRefreshToken(token);
    if (!parsed) throw new UnauthorizedException('Invalid refresh token');
    const next = newRefreshToken(parsed.sessionId);
    const { manager } = this.dataSource;
    const [rotated] = await rows<{ id: string; role: UserRole }>(
      manager,
      `UPDATE auth_sessions s
          SET refresh_token_hash = $3, refreshed_at = now(),
              expires_at = now() + make_interval(secs => $4)
         FROM users u
        WHERE s.id = $1 AND u.id = s.user_id AND s.refresh_token_hash = $2
          AND s.revoked_at IS NULL AND s.expires_at > now()
       RETURNING u.id, u.role`,
      [parsed.sessionId, parsed.hash, next.hash, this.config.auth.refreshTokenTtlSeconds],
    );
    if (rotated) return this.tokens(rotated, parsed.sessionId, next.token);

    const [session] = await rows<{ revoked: boolean; expired: boolean }>(
      manager,
      `SELECT revoked_at IS NOT NULL AS revoked, expires_at <= now() AS expired
         FROM auth_sessions WHERE id = $1`,
      [parsed.sessionId],
    );
    if (!session) throw new UnauthorizedException('Invalid refresh token');
    if (session.revoked) throw new UnauthorizedException('Session ended; log in again');
    if (session.expired) throw new UnauthorizedException('Session expired; log in again');
    // A live session whose current token is another one: this token was already rotated.
    if (await this.revoke(parsed.sessionId, REVOKE_REASON.reuse)) {
      this.logger.warn(`refresh token reused for session ${parsed.sessionId}: session revoked`);
    }
    throw new UnauthorizedException(
      'Refresh token already used; the session has been revoked, log in again',
    );
  }

  /** Ends one session (logout, reuse); true if it was still alive. Effective at once everywhere. */
  async revoke(sessionId: string, reason: RevokeReason): Promise<boolean> {
    const revoked = await rows(
      this.dataSource.manager,
      `UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2
        WHERE id = $1 AND revoked_at IS NULL RETURNING id`,
      [sessionId, reason],
    );
    await this.callers.invalidate({ session: sessionId });
    return revoked.length > 0;
  }

  /**
   * Ends every live session of a user, inside the caller's transaction when given one; returns
   * how many. The caller broadcasts `{user}` to the caches after its commit.
   */
  async revokeAllOf(
    userId: string,
    reason: RevokeReason,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<number> {
    const revoked = await rows(
      manager,
      `UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2
        WHERE user_id = $1 AND revoked_at IS NULL RETURNING id`,
      [userId, reason],
    );
    return revoked.length;
  }

  private async tokens(
    user: { id: string; role: UserRole },
    sessionId: string,
    refreshToken: string,
  ): Promise<SessionTokensDto> {
    return {
      access_token: await this.jwt.signAsync({ sub: user.id, sid: sessionId, role: user.role }),
      token_type: 'Bearer',
      expires_in: this.config.auth.jwtExpiresInSeconds,
      refresh_token: refreshToken,
      refresh_expires_in: this.config.auth.refreshTokenTtlSeconds,
    };
  }
}
