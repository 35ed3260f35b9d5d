import type { FastifyCorsOptions, FastifyCorsOptionsDelegateCallback } from '@fastify/cors';
import type { AppConfig } from '@app/config';

/** Every method a route of the API answers (a test compares this with the OpenAPI document). */
export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Response headers a page on another origin may read. */
export const CORS_EXPOSED_HEADERS = [
  'X-Request-Id',
  'Retry-After',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'RateLimit',
  'RateLimit-Policy',
];

/**
 * CORS per request origin:
 * - a listed origin is echoed back with `Access-Control-Allow-Credentials: true`;
 * - any other origin, when `*` is listed, gets `Access-Control-Allow-Origin: *` and no
 *   credentials (the API authenticates with bearer tokens, which a page sends without
 *   credentials mode; only cookies would need it, and only listed origins get that);
 * - anything else (or no Origin header) gets no CORS header at all.
 * Preflights allow every method the API uses and echo the requested headers.
 *
 * Cost per request: one Set lookup; the three option objects are built once.
 */
export function corsOptions(config: Pick<AppConfig, 'http'>): FastifyCorsOptions {
  const listed = new Set(config.http.corsOrigins.filter((origin) => origin !== '*'));
  const anyOrigin = config.http.corsOrigins.includes('*');
  const common = { methods: CORS_METHODS, exposedHeaders: CORS_EXPOSED_HEADERS, maxAge: 600 };
  const withCredentials: FastifyCorsOptions = { ...common, origin: true, credentials: true };
  const withoutCredentials: FastifyCorsOptions = { ...common, origin: '*', credentials: false };
  const none: FastifyCorsOptions = { origin: false };
  const delegator: FastifyCorsOptionsDelegateCallback = (request, callback) => {
    const origin = request.headers.origin;
    if (origin && listed.has(origin)) return callback(null, withCredentials);
    if (origin && anyOrigin) return callback(null, withoutCredentials);
    return callback(null, none);
  };
  return { delegator };
}
