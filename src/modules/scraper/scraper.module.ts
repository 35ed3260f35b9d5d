import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '@app/config';
import { GooglePlacesClient } from '@app/google-maps';
import { AreaCellStore } from './area/area-cell.store.js';
import { AreaCoverageService } from './area/area-coverage.service.js';
import { BudgetRequestGate, ScraperRequestGate } from './area/scraper-request.gate.js';
import { PlacesModule } from '../places/places.module.js';
import { SpendModule } from '../spend/spend.module.js';
import { ScraperJob } from './entities/scraper-job.entity.js';
import { ScraperBatch } from './entities/scraper-batch.entity.js';
import { ScraperBatchAccessGuard } from './scraper-batch-access.guard.js';
import { ScraperBatchController } from './scraper-batch.controller.js';
import { ScraperBatchService } from './scraper-batch.service.js';
import { ScraperEventsService } from './scraper-events.service.js';
import { routedProviders, ScraperProviders } from './scraper-providers.service.js';
import { ScraperFlightService } from './scraper-flight.service.js';
import { ScraperJobAccessGuard } from './scraper-job-access.guard.js';
import { AREA_ESTIMATOR, ScrapeCostService } from './scrape-cost.service.js';
import { ScraperEstimateController } from './scraper-estimate.controller.js';
import { ScraperController } from './scraper.controller.js';
import {
  AREA_SEARCH_CLIENT,
  SCRAPER_MAX_STALLED_COUNT,
  SCRAPER_QUEUE,
} from './scraper.constants.js';
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
        // The estimate of an area search reads the same cell cache the job will use.
        { provide: AREA_ESTIMATOR, useExisting: AreaCoverageService },
        ScraperEventsService,
        ScraperJobAccessGuard,
        ScraperProviders,
        ScraperBatchService,
        ScraperBatchAccessGuard,
        AreaCellStore,
        AreaCoverageService,
        // Every billed request of an area job is reserved against the owner's budget first.
        { provide: ScraperRequestGate, useClass: BudgetRequestGate },
        {
          // Area coverage searches rectangles, which only the Google provider can: its client,
          // when any role (or the fallback) is routed to Google.
          provide: AREA_SEARCH_CLIENT,
          inject: [AppConfig],
          useFactory: ({ scraper }: AppConfig) =>
            scraper.googleApiKey && routedProviders(scraper).has('google-places')
              ? new GooglePlacesClient({
                  baseUrl: scraper.googlePlacesApiBase,
                  apiKey: scraper.googleApiKey,
                  timeoutMs: scraper.timeoutMs,
                })
              : null,
        },
        ...(workers ? [ScraperFlightService, ScraperProcessor] : []),
      ],
      exports: [ScraperService, AreaCoverageService],
    };
  }
}
