import { HttpStatus, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import fastifyCors from '@fastify/cors';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { DestinationStream, Logger } from 'pino';
import { AllExceptionsFilter, AppValidationPipe, RouteTable } from '@app/common';
import type { AppConfig } from '@app/config';
import { API_PREFIX } from './app.constants.js';
import { AppModule, type AppModuleOptions } from './app.module.js';
import {
  createRootLogger,
  installRequestLogging,
  PinoNestLogger,
  requestId,
} from './logger.options.js';
import { mountBullBoard } from './modules/admin/bull-board.js';
import { corsOptions } from './cors.options.js';
import { staticSecurityHeaders } from './security-headers.js';
import { installHttpMetrics } from './modules/metrics/http-metrics.js';
import { CrawlerWebhookKey } from './modules/crawler/crawler-webhook.guard.js';
import { installCrawlerWebhookLeanPath } from './modules/crawler/crawler-webhook.route.js';
import { CrawlerLogWriter } from './modules/crawler/log/crawler-log.writer.js';

export { API_PREFIX };

/**
 * Fastify's not-found handler answers unknown routes itself (see answerNotFound) instead of
 * Nest's, which throws a NotFoundException through the router and the exception filters.
 */
class ApiFastifyAdapter extends FastifyAdapter {
  /** Routes by path and method: an unrouted request to a known path answers 405 with `Allow`. */
  private readonly routes = new RouteTable();

  /** Call at once, before any route is registered: Fastify reports each route as it is added. */
  trackRoutes(): this {
    this.routes.track(this.getInstance());
    return this;
  }

  override setNotFoundHandler(): ReturnType<FastifyAdapter['setNotFoundHandler']> {
    return this.getInstance().setNotFoundHandler(this.routes.notFoundHandler);
  }
}

export interface HttpAppOptions extends AppModuleOptions {
  /** Where log lines go instead of stdout (tests read them). */
  logDestination?: DestinationStream;
}

/** Builds the HTTP application exactly as production runs it; e2e tests call this too. */
export async function createHttpApp(
  config: AppConfig,
  options: HttpAppOptions = {},
): Promise<NestFastifyApplication> {
  const adapter = new ApiFastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    // X-Forwarded-* are believed only from the configured proxies: trusting every hop lets
    // any client choose its own address (and so dodge the per-address login throttle).
    trustProxy: config.http.trustedProxies.length ? config.http.trustedProxies : false,
    // SSE connections are long-lived: on shutdown, idle keep-alive sockets close at once.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    requestIdHeader: false,
    genReqId: requestId,
    // No Express-style middleware is used: without @fastify/middie no request pays for its
    // per-request matching.
    skipMiddie: true,
  });
  adapter.trackRoutes();
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, { imports: options.imports }),
    adapter,
    { bufferLogs: true },
  );
  await configureHttpApp(app, config, createRootLogger(config, options.logDestination));
  return app;
}

/**
 * The per-request path, in order: Nest's adapter hooks (503 while closing), one hook setting
 * X-Request-Id and the security headers, the request's log context, CORS, routing, guards,
 * validation, handler, and one log line when the response is finished (docs/performance.md).
 */
export async function configureHttpApp(
  app: NestFastifyApplication,
  config: AppConfig,
  logger: Logger,
): Promise<void> {
  app.useLogger(new PinoNestLogger(logger));
  app.flushLogs();
  // `GET /` (service name, version, links) stays outside the prefix, where old clients probe it.
  app.setGlobalPrefix(API_PREFIX, { exclude: [{ path: '/', method: RequestMethod.GET }] });
  const fastify = app.getHttpAdapter().getInstance();
  // Drain: `forceCloseConnections: 'idle'` only closes the sockets idle when close starts; a
  // keep-alive socket whose request finishes later would hold the server open until its
  // keep-alive timeout. Close such sockets as soon as they turn idle.
  fastify.addHook('preClose', (done) => {
    const drain = setInterval(() => fastify.server.closeIdleConnections(), 50);
    fastify.server.once('close', () => clearInterval(drain));
    done();
  });
  app.enableShutdownHooks();
  installHttpMetrics(app); // before any route is registered: each gets its pre-bound histogram children
  // Also before: the webhook's Fastify route gets its lean handler as Nest registers it.
  installCrawlerWebhookLeanPath(fastify, {
    key: app.get(CrawlerWebhookKey),
    writer: app.get(CrawlerLogWriter),
  });

  // Built once: helmet's headers are the same on every response. Set on the reply (not
  // `reply.raw`), so Node writes them all in one pass with the response's own headers;
  // Nest's SSE streams copy the reply's headers too. Per request: two `reply.header` calls'
  // worth of work; never add per-request computation here.
  const securityHeaders = staticSecurityHeaders();
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id).headers(securityHeaders);
    done();
  });
  installRequestLogging(fastify, logger);
  // @fastify/cors registered on Fastify itself rather than through app.enableCors(): Nest's
  // glue copies the CORS headers onto `reply.raw` on every request (for Express-style
  // middleware, which this app has none of), ~10% of a 404's CPU. Same plugin, same options.
  await fastify.register(fastifyCors, corsOptions(config));

  app.useGlobalPipes(
    new AppValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      errorHttpStatusCode: HttpStatus.UNPROCESSABLE_ENTITY,
    }),
  );
  app.useGlobalFilters(new AllExceptionsFilter());

  await mountBullBoard(app);
  setupSwagger(app);
}

export function setupSwagger(app: NestFastifyApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('GM backend')
      .setDescription(
        'Crawler (RunPod domain generation with live log streams), Google Maps scraper jobs, places, ' +
          'auth and per-role hourly quotas. JSON uses snake_case; errors are `{statusCode, error, message}`; ' +
          'validation errors answer 422 listing every bad field.',
      )
      .setVersion('1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api-key')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, {
    useGlobalPrefix: true,
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
}
