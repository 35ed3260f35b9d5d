import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { FastHistogram, FastHistogramChild } from './fast-instruments.js';
import { Metrics } from './metrics.service.js';

/** Route label of requests no route matched (404s): raw URLs never become labels. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Index = status / 100: 1xx … 5xx. */
type ByStatusClass = FastHistogramChild[];

function childrenFor(
  histogram: FastHistogram<'method' | 'route' | 'status_class'>,
  method: string,
  route: string,
): ByStatusClass {
  return [0, 1, 2, 3, 4, 5].map((c) => histogram.labels({ method, route, status_class: `${c}xx` }));
}

/**
 * The HTTP duration histogram (method, route template, status class), fed from Fastify hooks.
 * Called once from app.setup before routes are registered (Nest registers them at init).
 *
 * Cost per request: one onResponse hook call, a division and one histogram observe on a child
 * bound when the route was registered — no label object, no string built, no Map lookup. The
 * duration is Fastify's own `reply.elapsedTime` (measured from onRequest). Never add label
 * values derived from the request (URL, ids, user): they multiply series without bound.
 */
export function installHttpMetrics(app: NestFastifyApplication): void {
  const metrics = app.get(Metrics);
  if (!metrics.enabled) return;
  const histogram = metrics.m.httpRequestDuration;
  const fastify = app.getHttpAdapter().getInstance();

  fastify.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const byMethod = new Map<string, ByStatusClass>(
      methods.map((method) => [method, childrenFor(histogram, method, route.url)]),
    );
    const single = methods.length === 1 ? byMethod.get(methods[0])! : null;
    const hook = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      const children = single ?? byMethod.get(request.method);
      children?.[(reply.statusCode / 100) | 0]?.observe(reply.elapsedTime / 1000);
      done();
    };
    const existing = route.onResponse;
    route.onResponse = existing
      ? [...(Array.isArray(existing) ? existing : [existing]), hook]
      : hook;
  });

  // Requests no route matched (404s) have no route hook: one root hook catches them by method.
  const unmatched = new Map<string, ByStatusClass>();
  fastify.addHook('onResponse', (request, reply, done) => {
    if (request.is404) {
      let children = unmatched.get(request.method);
      if (!children) {
        // Only real methods become labels; anything else is "OTHER".
        const method = KNOWN_METHODS.has(request.method) ? request.method : 'OTHER';
        children = childrenFor(histogram, method, UNMATCHED_ROUTE);
        if (method !== 'OTHER') unmatched.set(method, children);
      }
      children[(reply.statusCode / 100) | 0]?.observe(reply.elapsedTime / 1000);
    }
    done();
  });
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
