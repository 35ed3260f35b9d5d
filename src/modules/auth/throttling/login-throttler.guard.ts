import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ThrottlerException, ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import { Metrics } from '../../metrics/metrics.service.js';

export const LOGIN_THROTTLER = 'login';

/**
 * Throttles login attempts per client IP + email, so guessing one account's password is
 * slow while other users behind the same NAT are unaffected.
 */
@Injectable()
export class LoginThrottlerGuard extends ThrottlerGuard {
  /** A property, not a constructor parameter: ThrottlerGuard's constructor is the framework's. */
  @Inject(Metrics) private readonly metrics!: Metrics;

  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const body = req.body as { email?: unknown } | undefined;
    const email = typeof body?.email === 'string' ? body.email.trim().toLowerCase() : '';
    return `${String(req.ip)}|${email}`;
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    this.metrics.m.loginThrottled.inc();
    context
      .switchToHttp()
      .getResponse<FastifyReply>()
      .header('Retry-After', String(detail.timeToBlockExpire));
    throw new ThrottlerException(
      `Too many login attempts; try again in ${detail.timeToBlockExpire} seconds`,
    );
  }
}
