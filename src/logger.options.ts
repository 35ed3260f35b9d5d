import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { LoggerService } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import type { AppConfig } from '@app/config';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The request id: the caller's `X-Request-Id` when it is sane, else a new UUID. Sent back as X-Request-Id. */
export function requestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** `?access_token=` / `?token=` values never reach the logs (SSE and Bull Board URLs carry them). */
export const redactTokens = (url: string): string =>
  url.includes('token=') ? url.replace(/([?&](?:access_token|token)=)[^&]*/g, '$1[redacted]') : url;

/**
 * The request a log line belongs to. One AsyncLocalStorage entry per request (entered in
 * `onRequest`, re-entered in `preHandler` because the body arrives on the socket's own async
 * context): a `new Logger(…)` line written anywhere while handling the request carries its id.
 */
const requestContext = new AsyncLocalStorage<FastifyRequest>();

/**
 * The process's one pino logger: JSON lines on stdout (pino-pretty when LOG_PRETTY). Writes are
 * asynchronous: lines logged while a write is in flight go out together in the next one, so under
 * load a request's line costs a share of a syscall, not one. `pino` flushes what is pending on exit.
 */
export function createRootLogger(config: AppConfig, destination?: DestinationStream): Logger {
  const options = { level: config.logLevel };
  if (destination) return pino(options, destination);
  if (config.logPretty)
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { singleLine: true } },
    });
  return pino(options, pino.destination({ dest: 1, sync: false }));
}

const LEVEL_OF_STATUS = (status: number): Level =>
  status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';

/**
 * One structured line per request, written when the response is finished: request id, method,
 * URL (tokens redacted), status, time and user agent; `warn` for 4xx, `error` for 5xx.
 * Headers are never logged, so Authorization, X-API-Key and cookies cannot leak.
 *
 * Hot path (every request): two AsyncLocalStorage entries and one flat object serialised by
 * pino. Never add here: header or body serialisation, pino child loggers, redaction passes over
 * whole objects, anything that awaits.
 */
export function installRequestLogging(fastify: FastifyInstance, logger: Logger): void {
  fastify.addHook('onRequest', (request, _reply, done) => requestContext.run(request, done));
  fastify.addHook('preHandler', (request, _reply, done) => requestContext.run(request, done));
  fastify.addHook('onResponse', (request, reply, done) => {
    const level = LEVEL_OF_STATUS(reply.statusCode);
    if (logger.isLevelEnabled(level)) {
      logger[level](
        {
          req_id: request.id,
          method: request.method,
          url: redactTokens(request.url),
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 100) / 100,
          user_agent: request.headers['user-agent'],
        },
        'request completed',
      );
    }
    done();
  });
}

const LOG_METHODS = {
  log: 'info',
  error: 'error',
  warn: 'warn',
  debug: 'debug',
  verbose: 'trace',
  fatal: 'fatal',
} as const satisfies Record<Exclude<keyof LoggerService, 'setLogLevels'>, Level>;

/**
 * Nest's LoggerService on the root pino logger: `new Logger('Context').log(…)` becomes one JSON
 * line with `context`, and, inside a request, that request's `req_id`.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(method: keyof typeof LOG_METHODS, message: unknown, params: unknown[]): void {
    const level = LOG_METHODS[method];
    if (!this.logger.isLevelEnabled(level)) return;
    // Nest's Logger passes its context last; `error(message, stack, context)` a stack before it.
    const context =
      params.length > 0 && typeof params[params.length - 1] === 'string'
        ? (params.pop() as string)
        : undefined;
    const fields: Record<string, unknown> = { context };
    const request = requestContext.getStore();
    if (request) fields.req_id = request.id;
    if (method === 'error' && typeof params[0] === 'string') fields.stack = params[0];
    if (message instanceof Error) {
      fields.err = message;
      this.logger[level](fields, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.logger[level]({ ...fields, ...message });
    } else {
      this.logger[level](fields, String(message));
    }
  }
}
