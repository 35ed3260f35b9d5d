import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  QUOTA_KEY,
  QUOTA_UNITS_KEY,
  QuotaExceededError,
  type AuthUser,
  type QuotaUnits,
} from '@app/common';
import type { QuotaBucket } from '@app/config';
import { Metrics } from '../metrics/metrics.service.js';
import { QuotaService } from './quota.service.js';

type QuotaRequest = FastifyRequest & { user?: AuthUser };

/**
 * Global, after authentication: counts routes marked @Quota(bucket) against the caller's
 * hourly quota and answers 429 once it is used up.
 */
@Injectable()
export class QuotaGuard implements CanActivate {
  private readonly logger = new Logger(QuotaGuard.name);

  constructor(
    private readonly reflector: Reflector,
    private readonly quotas: QuotaService,
    private readonly metrics: Metrics,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const bucket = this.reflector.get<QuotaBucket | undefined>(QUOTA_KEY, context.getHandler());
    if (!bucket) return true;
    const http = context.switchToHttp();
    const req = http.getRequest<QuotaRequest>();
    const reply = http.getResponse<FastifyReply>();
    if (!req.user) return true; // unauthenticated routes cannot carry a per-user quota
    const units = this.reflector.get<QuotaUnits | undefined>(QUOTA_UNITS_KEY, context.getHandler());
    const decision = await this.quotas.consume(
      bucket,
      req.user.id,
      req.user.role,
      Date.now(),
      units ? units(req.body) : 1,
    );
    if (decision.limit === null) return true;

    void reply.headers({
      'X-RateLimit-Limit': decision.limit,
      'X-RateLimit-Remaining': decision.remaining ?? 0,
      'X-RateLimit-Reset': decision.resetSeconds,
      // IETF draft-ietf-httpapi-ratelimit-headers
      'RateLimit-Policy': `"${bucket}";q=${decision.limit};w=3600`,
      RateLimit: `"${bucket}";r=${decision.remaining};t=${decision.resetSeconds}`,
    });
    if (!decision.allowed) {
      this.metrics.m.quotaRejections.inc({ bucket, role: req.user.role });
      const at = decision.resetAt.toISOString().slice(11, 16);
      const what =
        decision.units === 1
          ? `Hourly ${bucket} quota of ${decision.limit} requests used up`
          : `This request counts ${decision.units} against the hourly ${bucket} quota of ${decision.limit}, ` +
            `which has ${decision.remaining ?? 0} left; nothing was queued`;
      throw new QuotaExceededError(
        `${what}; it resets at ${at} UTC (in ${decision.resetSeconds} seconds)`,
        decision.resetSeconds,
      );
    }
    // A counted request that then fails (bad body → 422, dependency down → 503, handler
    // error) did not use the costly action: give its unit back once the answer is known.
    // A response hook rather than an interceptor: no per-request cost on uncounted routes.
    reply.raw.once('finish', () => {
      if (reply.raw.statusCode >= 400) {
        this.quotas
          .refund(decision.key, decision.units)
          .catch((error: Error) => this.logger.warn(`quota refund failed: ${error.message}`));
      }
    });
    return true;
  }
}
