import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
}

/** A body to send as it is (Terminus's health report): an HttpException whose response is an object without `message`. */
type PassThroughBody = Record<string, unknown>;

/** Errors raised by drivers when a dependency is down: answered 503, never 500. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  '57P01',
  '57P03',
]);
const UNAVAILABLE_MESSAGES = [
  /Connection is closed/i,
  /max retries per request/i,
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Stream isn't writeable/i,
];

/** Turns any error into Nest's `{statusCode, error, message}` shape. */
export function toErrorBody(
  exception: unknown,
): ErrorBody | (PassThroughBody & { statusCode: number }) {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    const error = STATUS_CODES[status] ?? 'Error';
    if (typeof response === 'string') return { statusCode: status, error, message: response };
    if (!('message' in response)) return { ...(response as PassThroughBody), statusCode: status };
    const body = response as Partial<ErrorBody>;
    return {
      statusCode: status,
      error: body.error ?? error,
      message: body.message ?? exception.message,
    };
  }
  const err = exception as { statusCode?: number; code?: string; message?: string } | undefined;
  // Fastify's own errors (malformed JSON, body too large, unsupported media type) carry a 4xx statusCode.
  if (err && typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return {
      statusCode: err.statusCode,
      error: STATUS_CODES[err.statusCode] ?? 'Error',
      message:
        err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.message?.includes('JSON')
          ? `Malformed JSON body: ${err.message}`
          : (err.message ?? 'Bad request'),
    };
  }
  if (
    err &&
    ((err.code && UNAVAILABLE_CODES.has(err.code)) ||
      UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(err.message ?? '')))
  ) {
    return {
      statusCode: HttpStatus.SERVICE_UNAVAILABLE,
      error: 'Service Unavailable',
      message: 'A backing service is unavailable; nothing was changed. Try again shortly.',
    };
  }
  return { statusCode: 500, error: 'Internal Server Error', message: 'Internal server error' };
}

/**
 * Fastify's not-found handler: the same answer Nest gives (`Cannot GET /path` in the error shape),
 * written directly. Unknown routes are what scanners hit hardest; this path costs one reply and
 * never builds an exception (no stack trace), never enters Nest's router or filters.
 */
export function answerNotFound(request: FastifyRequest, reply: FastifyReply): void {
  const body: ErrorBody = {
    statusCode: HttpStatus.NOT_FOUND,
    error: 'Not Found',
    message: `Cannot ${request.method} ${request.url}`,
  };
  void reply.code(HttpStatus.NOT_FOUND).send(body);
}

/**
 * Answers `exception` on `reply` in the error shape, as the filter does: 5xx are logged with their
 * stack, `retryAfterSeconds` becomes `Retry-After`. For handlers that run outside Nest's router
 * (the crawler webhook's lean path), so their errors read exactly like every other route's.
 */
export function replyWithError(reply: FastifyReply, exception: unknown, logger: Logger): void {
  const body = toErrorBody(exception);
  if (body.statusCode >= 500) {
    logger.error(
      exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
    );
  }
  const retryAfter = (exception as { retryAfterSeconds?: number }).retryAfterSeconds;
  if (retryAfter !== undefined) void reply.header('Retry-After', String(retryAfter));
  if (reply.sent) return;
  void reply.status(body.statusCode).send(body);
}

/** The logger of every error answer: `{"context":"HttpError",…}`. */
export const httpErrorLogger = new Logger('HttpError');

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    replyWithError(host.switchToHttp().getResponse<FastifyReply>(), exception, httpErrorLogger);
  }
}
