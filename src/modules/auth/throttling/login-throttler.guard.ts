import {
  CallHandler,
  ExecutionContext,
  Inject,
  Injectable,
  Logger,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { from, mergeMap, type Observable } from 'rxjs';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  normalizeIp,
  ThrottlerException,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerRequest,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import { KnownLoginAddresses } from './known-login-addresses.js';
import { Metrics } from '../../metrics/metrics.service.js';

/** Attempts per client address + email: guessing one account's password from one place is slow. */
export const LOGIN_THROTTLER = 'login';
/**
 * Attempts per email from any address: an attacker with many addresses (a botnet, or
 * X-Forwarded-For when the proxy is trusted) is slowed too. Its limit is higher than the
 * per-address one, and addresses the account logged in from before are exempt from it, so
 * strangers cannot cheaply lock the owner out.
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
const addressOf = (req: Record<string, unknown>): string => normalizeIp(String(req.ip));

export const loginAddressTracker = (req: Record<string, unknown>): string =>
  `${addressOf(req)}|${emailOf(req)}`;

export const loginAccountTracker = (req: Record<string, unknown>): string => emailOf(req);

/** Both login throttles (see auth.module.ts); a blocked attempt answers 429 with Retry-After. */
@Injectable()
export class LoginThrottlerGuard extends ThrottlerGuard {
  /** A property, not a constructor parameter: keeps the framework's constructor signature. */
  @Inject(Metrics) private readonly metrics!: Metrics;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly known: KnownLoginAddresses,
  ) {
    super(options, storage, reflector);
  }

  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    if (request.throttler.name === LOGIN_ACCOUNT_THROTTLER) {
      const req = request.context.switchToHttp().getRequest<Record<string, unknown>>();
      if (await this.known.isKnown(emailOf(req), addressOf(req))) return true;
    }
    return super.handleRequest(request);
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

/** After a successful login, remembers its address for the account (see KnownLoginAddresses). */
@Injectable()
export class RememberLoginAddressInterceptor implements NestInterceptor {
  private readonly logger = new Logger('LoginThrottle');

  constructor(private readonly known: KnownLoginAddresses) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<Record<string, unknown>>();
    // A login that succeeded stays a success: failing to remember only costs the exemption.
    const remember = () =>
      this.known.remember(emailOf(req), addressOf(req)).catch((error: unknown) => {
        this.logger.warn(`could not remember a login address: ${String(error)}`);
      });
    return next.handle().pipe(mergeMap((answer) => from(remember().then(() => answer))));
  }
}
