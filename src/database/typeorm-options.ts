import type { DataSourceOptions } from 'typeorm';
import { SnakeNamingStrategy } from '@app/common';
import type { AppConfig } from '@app/config';
import { ENTITIES } from './entities.js';
import { MIGRATIONS } from './migrations/index.js';

/**
 * The one source of TypeORM options, used by the app (TypeOrmModule) and by the CLI
 * (ormconfig.ts). Schema changes only through migrations: never `synchronize`.
 * Entities and migrations are listed as classes, not globs, so Vitest, tsx and compiled
 * JS all load them the same way.
 */
export function typeOrmOptions(config: Pick<AppConfig, 'database'>): DataSourceOptions {
  return {
    type: 'postgres',
    url: config.database.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    namingStrategy: new SnakeNamingStrategy(),
    extra: {
      max: config.database.poolSize,
      connectionTimeoutMillis: 5_000,
      // A query that outlives this is a bug or a dead database: fail it, answer 503.
      statement_timeout: 30_000,
    },
  };
}
