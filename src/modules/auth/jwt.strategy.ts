import { createSecretKey } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Authenticator } from 'passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { AuthUser } from '@app/common';
import { AppConfig } from '@app/config';
import { UsersService } from './users.service.js';

interface JwtPayload {
  sub: string;
  role: string;
}

export interface JwtOutcome {
  user?: AuthUser;
  /** Why there is no user: `Missing bearer token`, `Token expired; log in again`, … */
  reason?: string;
}

/**
 * passport-jwt, in a passport `Authenticator` owned by this app instance rather than the
 * process-wide singleton, so two app instances in one process (tests, embedded workers)
 * never swap each other's strategy.
 */
@Injectable()
export class JwtStrategy {
  private readonly passport = new Authenticator();

  constructor(config: AppConfig, users: UsersService) {
    this.passport.use(
      'jwt',
      new Strategy(
        {
          jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
          // A KeyObject, not the string: given a string, jsonwebtoken first tries (and fails) to
          // parse it as a PEM public key on every request — a fifth of an API process's CPU.
          secretOrKey: createSecretKey(Buffer.from(config.auth.jwtSecret)) as unknown as string,
          algorithms: ['HS256'],
        },
        // The user is re-read on every request, so a role change or deletion takes effect at once.
        (
          payload: JwtPayload,
          done: (error: unknown, user?: AuthUser | false, info?: unknown) => void,
        ) => {
          users.findAuthUser(payload.sub).then(
            (user) =>
              user
                ? done(null, user)
                : done(null, false, new Error('The account behind this token no longer exists')),
            (error: unknown) => done(error),
          );
        },
      ),
    );
  }

  authenticate(req: unknown): Promise<JwtOutcome> {
    return new Promise((resolve, reject) => {
      const middleware = this.passport.authenticate(
        'jwt',
        { session: false },
        (error: unknown, user: AuthUser | false, info: unknown) => {
          if (error) return reject(toError(error));
          if (user) return resolve({ user });
          resolve({ reason: describe(info) });
        },
      ) as (req: unknown, res: unknown, next: (error?: unknown) => void) => void;
      middleware(req, {}, (error?: unknown) => (error ? reject(toError(error)) : undefined));
    });
  }
}

function describe(info: unknown): string {
  if (!(info instanceof Error)) return 'Invalid token';
  if (info.name === 'TokenExpiredError') return 'Token expired; log in again';
  if (info.message === 'No auth token') return 'Missing bearer token';
  if (info.message.startsWith('The account')) return info.message;
  return 'Invalid token';
}

const toError = (error: unknown) =>
  error instanceof Error ? error : new Error(JSON.stringify(error));
