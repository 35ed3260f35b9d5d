import FindMyWay from 'find-my-way';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { answerNotFound, type ErrorBody } from './all-exceptions.filter.js';

/** The methods a 405's `Allow` can name (OPTIONS is CORS's catch-all, never a resource's). */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
type Method = (typeof METHODS)[number];
const isMethod = (method: string): method is Method =>
  (METHODS as readonly string[]).includes(method);
const noop = () => undefined;

/**
 * Every route's path per method, as Fastify registers them, so that a request Fastify could not
 * route can be told apart: a path that exists with other methods answers **405 with `Allow`**
 * (the contract), anything else 404. Consulted only on the not-found path: one router lookup
 * per method there (~1 µs), nothing on routed requests.
 */
export class RouteTable {
  private readonly router = FindMyWay();

  /** Call before any route is added (the adapter's constructor): Fastify reports each one here. */
  track(fastify: FastifyInstance): void {
    fastify.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const method of methods) {
        if (!isMethod(method) || this.router.hasRoute(method, route.url)) continue;
        this.router.on(method, route.url, noop);
      }
    });
  }

  /** The methods `path` (no query string) answers, in a stable order; empty when none. */
  allowed(path: string): Method[] {
    return METHODS.filter((method) => this.router.find(method, path) !== null);
  }

  /** Fastify's not-found handler: 405 with `Allow` for a known path, else the usual 404. */
  readonly notFoundHandler = (request: FastifyRequest, reply: FastifyReply): void => {
    const query = request.url.indexOf('?');
    const allowed = this.allowed(query === -1 ? request.url : request.url.slice(0, query));
    if (allowed.length === 0) return answerNotFound(request, reply);
    const body: ErrorBody = {
      statusCode: 405,
      error: 'Method Not Allowed',
      message: `Cannot ${request.method} ${request.url}: this path answers ${allowed.join(', ')}`,
    };
    void reply.code(405).header('Allow', allowed.join(', ')).send(body);
  };
}
