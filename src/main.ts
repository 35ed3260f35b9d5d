import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigValidationError, loadAppConfig, type AppConfig } from '@app/config';
import { AppModule } from './app.module.js';
import { createHttpApp } from './app.setup.js';
import { createRootLogger, PinoNestLogger } from './logger.options.js';
import { prepareDatabase } from './database/prepare-database.js';

async function bootstrap(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config: AppConfig;
  let warnings: string[];
  try {
    ({ config, warnings } = loadAppConfig(process.env));
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = new Logger('Bootstrap');
  for (const warning of warnings) logger.warn(warning);

  await prepareDatabase(config);

  if (config.role === 'worker') {
    const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
      bufferLogs: true,
    });
    app.useLogger(new PinoNestLogger(createRootLogger(config)));
    app.enableShutdownHooks();
    installShutdownDeadline(config);
    logger.log('queue worker started (APP_ROLE=worker)');
    return;
  }
  const app = await createHttpApp(config);
  installShutdownDeadline(config);
  await app.listen({ port: config.port, host: '0.0.0.0' });
  logger.log(`listening on :${config.port} (APP_ROLE=${config.role}); docs at /api/docs`);
}

/** Nest drains on SIGTERM (HTTP first, then queue workers); this bounds how long that may take. */
function installShutdownDeadline(config: AppConfig): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      setTimeout(() => {
        console.error(`shutdown took longer than ${config.shutdownTimeoutMs} ms; exiting`);
        process.exit(1);
      }, config.shutdownTimeoutMs).unref();
    });
  }
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
