import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import { httpErrorLogger, replyWithError, type ErrorBody } from '@app/common';
import type { CrawlerWebhookKey } from './crawler-webhook.guard.js';
import { CrawlerLogDto, type CrawlerLogResponseDto } from './dto/crawler.dto.js';
import { isJobId, unknownJobMessage, type CrawlerLogWriter } from './log/crawler-log.writer.js';

/**
 * `@RouteConfig(CRAWLER_WEBHOOK_ROUTE)` on the controller method marks the Fastify route that
 * gets the lean handler (Nest copies a method's route config onto its Fastify route).
 */
export const CRAWLER_WEBHOOK_ROUTE = { leanHandler: 'crawler-webhook' } as const;

/** The webhook's 200 body. */
export const webhookAccepted = (jobId: string): CrawlerLogResponseDto => ({
  status: 'success',
  job_id: jobId,
  message: 'Log message received and queued',
});

export interface CrawlerWebhookDeps {
  key: Pick<CrawlerWebhookKey, 'refusal'>;
  writer: Pick<CrawlerLogWriter, 'append'>;
}

/**
 * The webhook's lean path. `POST /api/crawler/log` stays a documented Nest controller method
 * (Swagger, the guard, class-validator): that route is the contract. When Fastify registers it,
 * its handler is wrapped: a request with the right key and a body the hand-written check accepts
 * (`CrawlerLogDto.acceptValid`, held to class-validator's verdict by its spec) goes straight to
 * the writer and is answered here; anything else — missing or wrong key, any body that is not
 * plainly valid — goes on to Nest's handler, which answers it exactly as before (401, the 422
 * field list). Fastify's own work is the same on both paths: body parsing (413, 415, malformed
 * JSON), the hooks (request id, security headers, CORS, the request's log line and context,
 * metrics by route template).
 *
 * Why: Nest's router execution context (global guards, pipes, the promise chain, param
 * extraction) was ~40 µs of the webhook's CPU per request, which the one thing it does here
 * (the key check) does not need.
 *
 * Hot path. Per request: one SHA-256 of the key, the body check, the writer's append, one reply;
 * a job id that is not a UUID is answered 404 here, without an exception or the writer.
 * Never add I/O, an await before the append, or per-request allocation beyond the reply here.
 * The writer's errors are answered in the error shape by the same function as the exception filter.
 */
export function installCrawlerWebhookLeanPath(
  fastify: FastifyInstance,
  { key, writer }: CrawlerWebhookDeps,
): void {
  let installed = false;
  fastify.addHook('onRoute', (route) => {
    const config: Partial<typeof CRAWLER_WEBHOOK_ROUTE> | undefined = route.config;
    if (config?.leanHandler !== CRAWLER_WEBHOOK_ROUTE.leanHandler) return;
    const viaNest = route.handler;
    const lean: RouteHandlerMethod = function (request, reply) {
      const body =
        key.refusal(request.headers['x-api-key']) === null
          ? CrawlerLogDto.acceptValid(request.body)
          : undefined;
      if (body === undefined) return viaNest.call(this, request, reply);
      if (!isJobId(body.job_id)) {
        // The writer's 404, answered without building an exception (a stack trace per request).
        const notFound: ErrorBody = {
          statusCode: 404,
          error: 'Not Found',
          message: unknownJobMessage(body.job_id),
        };
        return void reply.code(404).send(notFound);
      }
      writer.append(body.job_id, body.messages ?? [body.message!]).then(
        () => void reply.code(200).send(webhookAccepted(body.job_id)),
        (error: unknown) => replyWithError(reply, error, httpErrorLogger),
      );
    };
    route.handler = lean;
    installed = true;
  });
  // Boot-time check: a renamed or re-decorated route must not silently lose its lean path.
  fastify.addHook('onReady', (done) =>
    done(
      installed
        ? undefined
        : new Error(
            'no route carries @RouteConfig(CRAWLER_WEBHOOK_ROUTE): the webhook lost its lean path',
          ),
    ),
  );
}
