import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '@app/config';
import { PlacesModule } from '../places/places.module.js';
import { SpendModule } from '../spend/spend.module.js';
import { ScraperJob } from './entities/scraper-job.entity.js';
import { ScraperBatch } from './entities/scraper-batch.entity.js';
import { ScraperBatchAccessGuard } from './scraper-batch-access.guard.js';
import { ScraperBatchController } from './scraper-batch.controller.js';
import { ScraperBatchService } from './scraper-batch.service.js';
import { ScraperEventsService } from './scraper-events.service.js';
import { ScraperProviders } from './scraper-providers.service.js';
import { ScraperFlightService } from './scraper-flight.service.js';
import { ScraperJobAccessGuard } from './scraper-job-access.guard.js';
import {
  AREA_ESTIMATOR,
  ConservativeAreaEstimator,
  ScrapeCostService,
} from './scrape-cost.service.js';
import { ScraperEstimateController } from './scraper-estimate.controller.js';
import { ScraperController } from './scraper.controller.js';
import { SCRAPER_MAX_STALLED_COUNT, SCRAPER_QUEUE } from './scraper.constants.js';
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
        TypeOrmModule.forFeature([ScraperJob, ScraperBatch]),
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
      controllers: [ScraperController, ScraperEstimateController, ScraperBatchController],
      providers: [
        ScraperService,
        ScrapeCostService,
        // Area coverage replaces this with its own estimator (cached cells, density).
        { provide: AREA_ESTIMATOR, useClass: ConservativeAreaEstimator },
        ScraperEventsService,
        ScraperJobAccessGuard,
        ScraperProviders,
        ScraperBatchService,
        ScraperBatchAccessGuard,
        ...(workers ? [ScraperFlightService, ScraperProcessor] : []),
      ],
      exports: [ScraperService],
    };
  }
}
