import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '@app/config';
import { createPlacesProvider } from '@app/google-maps';
import { Metrics } from '../metrics/metrics.service.js';
import { PlacesModule } from '../places/places.module.js';
import { SpendModule } from '../spend/spend.module.js';
import { ScraperJob } from './entities/scraper-job.entity.js';
import { ScraperEventsService } from './scraper-events.service.js';
import { ScraperFlightService } from './scraper-flight.service.js';
import { ScraperJobAccessGuard } from './scraper-job-access.guard.js';
import {
  AREA_ESTIMATOR,
  ConservativeAreaEstimator,
  ScrapeCostService,
} from './scrape-cost.service.js';
import { ScraperEstimateController } from './scraper-estimate.controller.js';
import { ScraperController } from './scraper.controller.js';
import { SCRAPER_MAX_STALLED_COUNT, SCRAPER_QUEUE, PLACES_PROVIDER } from './scraper.constants.js';
import { ScraperProcessor } from './scraper.processor.js';
import { ScraperService } from './scraper.service.js';

export interface ScraperModuleOptions {
  /** Run the queue worker in this process (APP_ROLE=all|worker); an API-only process just enqueues. */
  workers: boolean;
}

@Module({})
export class ScraperModule {
  static forRoot({ workers }: ScraperModuleOptions): DynamicModule {
    return {
      module: ScraperModule,
      imports: [
        PlacesModule,
        SpendModule,
        TypeOrmModule.forFeature([ScraperJob]),
        BullModule.registerQueueAsync({
          name: SCRAPER_QUEUE,
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            settings: {
              // A worker that dies (SIGKILL, OOM, lost node) stops renewing its lock; after
              // lockDuration another worker's stalled check puts the job back to waiting.
              lockDuration: config.scraper.lockDurationMs,
              stalledInterval: config.scraper.stalledIntervalMs,
              maxStalledCount: SCRAPER_MAX_STALLED_COUNT,
            },
          }),
        }),
      ],
      controllers: [ScraperController, ScraperEstimateController],
      providers: [
        ScraperService,
        ScrapeCostService,
        // Area coverage replaces this with its own estimator (cached cells, density).
        { provide: AREA_ESTIMATOR, useClass: ConservativeAreaEstimator },
        ScraperEventsService,
        ScraperJobAccessGuard,
        {
          provide: PLACES_PROVIDER,
          inject: [AppConfig, Metrics],
          useFactory: (config: AppConfig, metrics: Metrics) =>
            metrics.instrumentProvider(createPlacesProvider(config.scraper)),
        },
        ...(workers ? [ScraperFlightService, ScraperProcessor] : []),
      ],
      exports: [ScraperService],
    };
  }
}
