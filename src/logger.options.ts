import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { AppConfig } from '@app/config';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The request id: the caller's `X-Request-Id` when it is sane, else a new UUID. Sent back as X-Request-Id. */
export function requestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

const redactTokens = (url: string | undefined) =>
  url?.replace(/([?&](?:access_token|token)=)[^&]*/g, '$1[redacted]');

/** Structured JSON logs; every line logged during a request carries its request id (`req.id`). */
export function loggerOptions(config: AppConfig): Params {
  return {
    pinoHttp: {
      level: config.logLevel,
      transport: config.logPretty
        ? { target: 'pino-pretty', options: { singleLine: true } }
        : undefined,
      // Fastify assigns the id (see app.setup.ts); reuse it so both agree.
      genReqId: (req) =>
        typeof req.id === 'string' || typeof req.id === 'number' ? String(req.id) : requestId(req),
      customLogLevel: (_req, res, error) =>
        error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      // Secrets never reach the logs: no auth headers, no API keys, no tokens in SSE URLs.
      serializers: {
        req: (req: {
          id: string;
          method: string;
          url: string;
          headers: Record<string, unknown>;
        }) => ({
          id: req.id,
          method: req.method,
          url: redactTokens(req.url),
          user_agent: req.headers['user-agent'],
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
  };
}
