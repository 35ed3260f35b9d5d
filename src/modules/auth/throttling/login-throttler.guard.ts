import { ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  normalizeIp,
  ThrottlerException,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
} from '@nestjs/throttler';

/** Attempts per client address + email: guessing one account's password from one place is slow. */
export const LOGIN_THROTTLER = 'login';
/**
 * Attempts per email from any address: an attacker with many addresses (a botnet, or
 * X-Forwarded-For when the proxy is trusted) is slowed too. Its limit is higher than the
 * per-address one, so a stranger hammering an account from one address never locks its
 * owner out, and one who uses many must keep spending requests to do so.
 */
export const LOGIN_ACCOUNT_THROTTLER = 'login-account';

/** The email as LoginDto will normalise it (the guard runs before validation). */
const emailOf = (req: Record<string, unknown>): string => {
  const body = req.body as { email?: unknown } | undefined;
  return typeof body?.email === 'string' ? body.email.trim().toLowerCase() : '';
};

/**
 * The client address is Fastify's `request.ip`: the socket's peer, or the address a trusted
 * proxy (TRUSTED_PROXIES) put in X-Forwarded-For — never a header from anyone else. IPv6
 * addresses count per /64, the block one subscriber usually holds.
 */
export const loginAddressTracker = (req: Record<string, unknown>): string =>
  `${normalizeIp(String(req.ip))}|${emailOf(req)}`;

export const loginAccountTracker = (req: Record<string, unknown>): string => emailOf(req);

/** Both login throttles (see auth.module.ts); a blocked attempt answers 429 with Retry-After. */
@Injectable()
export class LoginThrottlerGuard extends ThrottlerGuard {
  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    context
      .switchToHttp()
      .getResponse<FastifyReply>()
      .header('Retry-After', String(detail.timeToBlockExpire));
    throw new ThrottlerException(
      `Too many login attempts; try again in ${detail.timeToBlockExpire} seconds`,
    );
  }
}
