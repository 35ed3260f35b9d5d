import { createSecretKey } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Authenticator } from 'passport';
import { Strategy } from 'passport-jwt';
import { AppConfig } from '@app/config';
import { VERIFIED_TOKENS_MAX } from './auth.constants.js';
import { CallerCache, type AuthCaller } from './caller-cache.js';

/** What an access token carries: the user, the session (`sid`) and, informational only, the role. */
export interface AccessClaims {
  sub: string;
  sid: string;
  role: string;
  exp: number;
}

export interface JwtOutcome {
  user?: AuthCaller;
  /** Why there is no user: `Missing bearer token`, `Token expired; …`, … */
  reason?: string;
}

interface Verified {
  sub: string;
  sid: string;
  /** exp, in ms */
  expiresAt: number;
}

const BEARER = /^bearer\s+(\S+)\s*$/i;

/**
 * Authenticates a request's bearer token: passport-jwt checks the signature and expiry, then
 * the CallerCache says whether the token's session is still alive and who its user is now (role
 * included: the token's own `role` claim is never trusted for authorisation).
 *
 * Cost per request, steady state: one Map lookup of the token string (a signature is verified
 * once per token per process — passport-jwt costs ~50 µs a call, more than the rest of an
 * authenticated request), a clock read, and the CallerCache's Map lookup. No I/O. Never add
 * any here: it runs before every authenticated route.
 *
 * passport-jwt runs in a passport `Authenticator` owned by this app instance rather than the
 * process-wide singleton, so two app instances in one process (tests) never swap strategies.
 */
@Injectable()
export class JwtStrategy {
  private readonly passport = new Authenticator();
  private readonly verified = new Map<string, Verified>();

  constructor(
    config: AppConfig,
    private readonly callers: CallerCache,
  ) {
    this.passport.use(
      'jwt',
      new Strategy(
        {
          jwtFromRequest: (req: { token?: string }) => req.token ?? null,
          // A KeyObject, not the string: given a string, jsonwebtoken first tries (and fails) to
          // parse it as a PEM public key on every call.
          secretOrKey: createSecretKey(Buffer.from(config.auth.jwtSecret)) as unknown as string,
          algorithms: ['HS256'],
        },
        (payload: AccessClaims, done: (error: unknown, claims?: AccessClaims) => void) =>
          done(null, payload),
      ),
    );
  }

  /** `req.headers.authorization` must hold `Bearer <token>` (the guard moves `?access_token=` there for SSE). */
  async authenticate(req: {
    headers: Record<string, string | string[] | undefined>;
  }): Promise<JwtOutcome> {
    const token = bearerToken(req.headers.authorization);
    if (!token) return { reason: 'Missing bearer token' };
    let claims = this.verified.get(token);
    if (!claims || claims.expiresAt <= Date.now()) {
      const outcome = await this.verify(token);
      if (!('sub' in outcome)) return outcome;
      claims = outcome;
    }
    const cached = this.callers.get(claims.sid, claims.sub);
    const caller = cached instanceof Promise ? await cached : cached;
    if (!caller) return { reason: 'Session ended (logged out or revoked); log in again' };
    return { user: caller };
  }

  private verify(token: string): Promise<Verified | { reason: string }> {
    return new Promise((resolve, reject) => {
      const middleware = this.passport.authenticate(
        'jwt',
        { session: false },
        (error: unknown, payload: AccessClaims | false, info: unknown) => {
          if (error) return reject(toError(error));
          if (!payload) return resolve({ reason: describe(info) });
          if (typeof payload.sid !== 'string' || typeof payload.sub !== 'string') {
            // Issued before sessions existed: it could never be revoked, so it is refused.
            return resolve({ reason: 'Token without a session; log in again' });
          }
          const verified = { sub: payload.sub, sid: payload.sid, expiresAt: payload.exp * 1000 };
          this.remember(token, verified);
          resolve(verified);
        },
      ) as (req: unknown, res: unknown, next: (error?: unknown) => void) => void;
      middleware({ token }, {}, (error?: unknown) => (error ? reject(toError(error)) : undefined));
    });
  }

  private remember(token: string, verified: Verified): void {
    this.verified.delete(token);
    if (this.verified.size >= VERIFIED_TOKENS_MAX) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(token, verified);
  }
}

function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  // Fast path for the usual `Bearer <jwt>`; the regex accepts any case and spacing.
  if (header.startsWith('Bearer ') && header.indexOf(' ', 7) === -1) return header.slice(7);
  return BEARER.exec(header)?.[1];
}

function describe(info: unknown): string {
  if (!(info instanceof Error)) return 'Invalid token';
  if (info.name === 'TokenExpiredError') return 'Token expired; refresh it or log in again';
  if (info.message === 'No auth token') return 'Missing bearer token';
  return 'Invalid token';
}

const toError = (error: unknown) =>
  error instanceof Error ? error : new Error(JSON.stringify(error));
