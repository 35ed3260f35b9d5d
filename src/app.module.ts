import { BullModule } from '@nestjs/bull';
import { CacheModule } from '@nestjs/cache-manager';
import { DynamicModule, Module, type ModuleMetadata } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { createKeyv } from '@keyv/redis';
import { RedisModule } from '@app/common';
import { AppConfig, AppConfigModule } from '@app/config';
import { DatabaseModule } from './database/database.module.js';
import { AdminModule } from './modules/admin/admin.module.js';
import { AuthModule } from './modules/auth/auth.module.js';
import { CrawlerModule } from './modules/crawler/crawler.module.js';
import { JwtAuthGuard } from './modules/auth/guards/jwt-auth.guard.js';
import { RolesGuard } from './modules/auth/guards/roles.guard.js';
import { HealthModule } from './modules/health/health.module.js';
import { MetricsModule } from './modules/metrics/metrics.module.js';
import { PlacesModule } from './modules/places/places.module.js';
import { QuotaGuard } from './modules/rate-limit/quota.guard.js';
import { RateLimitModule } from './modules/rate-limit/rate-limit.module.js';
import { ScraperModule } from './modules/scraper/scraper.module.js';
import { SpendModule } from './modules/spend/spend.module.js';

export interface AppModuleOptions {
  /** Extra modules mounted beside the features (tests mount probe routes this way). */
  imports?: ModuleMetadata['imports'];
}

/**
 * The platform (config, database, Redis, queues, cache, events) and the feature
 * modules. Built from the already-validated config, which decides whether this process
 * runs queue workers (APP_ROLE).
 */
/**
 * The cache-manager store: Keyv on Redis, under the app's key prefix. Plain JSON: Keyv's
 * default deserializer runs a reviver over every value (to restore Buffers, which this
 * cache never holds) — 5% of a cache-hit request's CPU.
 */
function cacheStore(config: AppConfig) {
  const keyv = createKeyv(config.redis.url, { namespace: `${config.redis.keyPrefix}:cache` });
  keyv.serialize = (data) => JSON.stringify(data);
  keyv.deserialize = (data) => JSON.parse(data) as never;
  return keyv;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        DatabaseModule,
        RedisModule,
        BullModule.forRoot({ url: config.redis.url, prefix: `${config.redis.keyPrefix}:bull` }),
        CacheModule.register({
          isGlobal: true,
          stores: [cacheStore(config)],
        }),
        EventEmitterModule.forRoot({ wildcard: true, delimiter: '.' }),
        MetricsModule,
        AuthModule,
        RateLimitModule,
        SpendModule,
        HealthModule,
        CrawlerModule.forRoot({ workers: config.role !== 'api' }),
        ScraperModule.forRoot({ workers: config.role !== 'api' }),
        PlacesModule,
        AdminModule,
        ...(options.imports ?? []),
      ],
      providers: [
        // Order matters: authenticate, then check the role, then count the quota.
        { provide: APP_GUARD, useExisting: JwtAuthGuard },
        { provide: APP_GUARD, useExisting: RolesGuard },
        { provide: APP_GUARD, useExisting: QuotaGuard },
      ],
    };
  }
}
