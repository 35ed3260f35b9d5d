import { HttpStatus, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { AllExceptionsFilter } from '@app/common';
import type { AppConfig } from '@app/config';
import { AppModule, type AppModuleOptions } from './app.module.js';
import { mountBullBoard } from './modules/admin/bull-board.js';
import { installHttpMetrics } from './modules/metrics/http-metrics.js';
import { requestId } from './logger.options.js';

export const API_PREFIX = 'api';

/** Builds the HTTP application exactly as production runs it; e2e tests call this too. */
export async function createHttpApp(
  config: AppConfig,
  options: AppModuleOptions = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    trustProxy: true,
    // SSE connections are long-lived: on shutdown, idle keep-alive sockets close at once.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    requestIdHeader: false,
    genReqId: requestId,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, options),
    adapter,
    {
      bufferLogs: true,
    },
  );
  await configureHttpApp(app, config);
  return app;
}

export async function configureHttpApp(
  app: NestFastifyApplication,
  config: AppConfig,
): Promise<void> {
  app.useLogger(app.get(Logger));
  app.flushLogs();
  app.setGlobalPrefix(API_PREFIX);
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

  // helmet's middleware built once (@fastify/helmet rebuilds it, CSP parsing included, on
  // every request: measurable on the webhook's hot path).
  const securityHeaders = helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: [`'self'`],
        // Swagger UI and Bull Board ship inline bootstrap scripts and styles.
        scriptSrc: [`'self'`, `'unsafe-inline'`],
        styleSrc: [`'self'`, `'unsafe-inline'`],
        imgSrc: [`'self'`, 'data:', 'validator.swagger.io'],
      },
    },
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('X-Request-Id', request.id);
    securityHeaders(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined));
  });
  app.enableCors({
    origin: config.http.corsOrigins.includes('*') ? true : config.http.corsOrigins,
    credentials: true,
    exposedHeaders: [
      'X-Request-Id',
      'Retry-After',
      'X-RateLimit-Limit',
      'X-RateLimit-Remaining',
      'X-RateLimit-Reset',
      'RateLimit',
      'RateLimit-Policy',
    ],
  });

  app.useGlobalPipes(
    new ValidationPipe({
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
