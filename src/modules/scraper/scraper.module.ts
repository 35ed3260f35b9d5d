import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '@app/config';
import { createPlacesProvider, GooglePlacesClient } from '@app/google-maps';
import { AreaCellStore } from './area/area-cell.store.js';
import { AreaCoverageService } from './area/area-coverage.service.js';
import { AllowAllRequests, ScraperRequestGate } from './area/scraper-request.gate.js';
import { Metrics } from '../metrics/metrics.service.js';
import { PlacesModule } from '../places/places.module.js';
import { ScraperJob } from './entities/scraper-job.entity.js';
import { ScraperEventsService } from './scraper-events.service.js';
import { ScraperFlightService } from './scraper-flight.service.js';
import { ScraperJobAccessGuard } from './scraper-job-access.guard.js';
import { ScraperController } from './scraper.controller.js';
import {
  AREA_SEARCH_CLIENT,
  SCRAPER_MAX_STALLED_COUNT,
  SCRAPER_QUEUE,
  PLACES_PROVIDER,
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
      controllers: [ScraperController],
      providers: [
        ScraperService,
        ScraperEventsService,
        ScraperJobAccessGuard,
        {
          provide: PLACES_PROVIDER,
          inject: [AppConfig, Metrics],
          useFactory: (config: AppConfig, metrics: Metrics) =>
            metrics.instrumentProvider(createPlacesProvider(config.scraper)),
        },
        AreaCellStore,
        AreaCoverageService,
        { provide: ScraperRequestGate, useClass: AllowAllRequests },
        {
          // Area coverage searches rectangles, which only the Google provider can.
          provide: AREA_SEARCH_CLIENT,
          inject: [AppConfig],
          useFactory: ({ scraper }: AppConfig) =>
            scraper.provider === 'google-places' && scraper.googleApiKey
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
