import { BullModule } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { QUEUE_NAMES } from '@app/common';
import { AppConfig } from '@app/config';
import { RunpodClient } from '@app/runpod';
import { CrawlerJobAccessGuard } from './crawler-job-access.guard.js';
import { CrawlerTimeoutSweeper } from './crawler-timeout.sweeper.js';
import { CrawlerWebhookGuard, CrawlerWebhookKey } from './crawler-webhook.guard.js';
import { CrawlerController } from './crawler.controller.js';
import { CrawlerDispatchProcessor } from './crawler.processor.js';
import { CrawlerService } from './crawler.service.js';
import { CrawlerJobLog } from './entities/crawler-job-log.entity.js';
import { CrawlerJob } from './entities/crawler-job.entity.js';
import { CrawlerLogBus } from './log/crawler-log.bus.js';
import { CrawlerLogStream } from './log/crawler-log.stream.js';
import { CrawlerLogWriter } from './log/crawler-log.writer.js';

export interface CrawlerModuleOptions {
  /** Run the dispatch processor and the inactivity sweep in this process (APP_ROLE all|worker). */
  workers: boolean;
}

/** RunPod domain-generation jobs with durable, live, replayable log streams. */
@Module({})
export class CrawlerModule {
  static forRoot(options: CrawlerModuleOptions): DynamicModule {
    return {
      module: CrawlerModule,
      imports: [
        TypeOrmModule.forFeature([CrawlerJob, CrawlerJobLog]),
        BullModule.registerQueueAsync({
          name: QUEUE_NAMES.crawler,
          inject: [AppConfig],
          useFactory: ({ crawler }: AppConfig) => ({
            settings: {
              lockDuration: crawler.lockDurationMs,
              stalledInterval: crawler.stalledIntervalMs,
            },
          }),
        }),
      ],
      controllers: [CrawlerController],
      providers: [
        CrawlerService,
        CrawlerLogBus,
        CrawlerLogWriter,
        CrawlerLogStream,
        CrawlerWebhookKey,
        CrawlerWebhookGuard,
        CrawlerJobAccessGuard,
        {
          provide: RunpodClient,
          inject: [AppConfig],
          useFactory: (config: AppConfig) => new RunpodClient(config.runpod),
        },
        ...(options.workers ? [CrawlerDispatchProcessor, CrawlerTimeoutSweeper] : []),
      ],
      exports: [CrawlerService],
    };
  }
}
