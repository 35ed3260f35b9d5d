import {
  applyDecorators,
  createParamDecorator,
  ExecutionContext,
  SetMetadata,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiQuery,
  ApiSecurity,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { QuotaBucket, UserRole } from '@app/config';

export const IS_PUBLIC_KEY = 'auth:public';
export const ROLES_KEY = 'auth:roles';
export const QUERY_TOKEN_KEY = 'auth:query-token';
export const QUOTA_KEY = 'rate-limit:quota';
export const QUOTA_UNITS_KEY = 'rate-limit:quota-units';

/**
 * How many units of the quota a request takes, read from its raw (not yet validated) body:
 * guards run before pipes. Counted all or nothing, in one atomic step.
 */
export type QuotaUnits = (body: unknown) => number;

/** The authenticated caller, as attached to the request by the JWT strategy. */
export interface AuthUser {
  id: string;
  email: string;
  name: string | null;
  role: UserRole;
}

/** Opts a route out of the global JWT guard (login, register, health, webhooks). */
export const Public = () => SetMetadata(IS_PUBLIC_KEY, true);

/**
 * Requires a signed-in caller, and one of `roles` when given. Authentication is global
 * already; this adds the role check and the Swagger security notes.
 */
export function Auth(...roles: UserRole[]) {
  return applyDecorators(
    SetMetadata(ROLES_KEY, roles),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'Missing, invalid or expired token' }),
    ...(roles.length
      ? [ApiForbiddenResponse({ description: `Requires role: ${roles.join(' or ')}` })]
      : []),
  );
}

/**
 * For Server-Sent Events routes: a browser EventSource cannot set headers, so the token
 * may also come as `?access_token=`. Only routes marked so accept it (tokens in URLs leak
 * into logs and history; the logger redacts it).
 */
export function AcceptsQueryToken() {
  return applyDecorators(
    SetMetadata(QUERY_TOKEN_KEY, true),
    ApiQuery({
      name: 'access_token',
      required: false,
      description: 'JWT, for EventSource clients that cannot set headers',
    }),
  );
}

/**
 * Counts the route against the caller's hourly quota for `bucket` (see RateLimitModule): one
 * unit per request, or `units(body)` — all of them or none.
 */
export function Quota(bucket: QuotaBucket, units?: QuotaUnits) {
  return applyDecorators(
    SetMetadata(QUOTA_KEY, bucket),
    ...(units ? [SetMetadata(QUOTA_UNITS_KEY, units)] : []),
    ApiTooManyRequestsResponse({
      description: `Hourly ${bucket} quota exhausted; Retry-After and X-RateLimit-Reset say when it resets`,
    }),
  );
}

/** Documents the webhook's `X-API-Key` security scheme. */
export const ApiKeyAuth = () => ApiSecurity('api-key');

export const CurrentUser = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): AuthUser => {
    return ctx.switchToHttp().getRequest<{ user: AuthUser }>().user;
  },
);
