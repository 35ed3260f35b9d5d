import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { OnEvent } from '@nestjs/event-emitter';
import { CRAWLER_EVENTS, type CrawlerJobEvent } from '../crawler/crawler.constants.js';
import { CrawlerLogStream } from '../crawler/log/crawler-log.stream.js';
import { Metrics } from './metrics.service.js';

/**
 * Crawler figures that need no call in crawler code: final statuses from the job events (emitted
 * once, by the process that ended the job) and open streams read from the stream registry at
 * scrape time.
 */
@Injectable()
export class CrawlerMetrics implements OnApplicationBootstrap {
  constructor(
    private readonly metrics: Metrics,
    private readonly moduleRef: ModuleRef,
  ) {}

  onApplicationBootstrap(): void {
    const streams = this.moduleRef.get(CrawlerLogStream, { strict: false });
    this.metrics.gaugeFrom(this.metrics.m.crawlerStreamsOpen, () => streams.openCount);
  }

  @OnEvent(CRAWLER_EVENTS.completed)
  @OnEvent(CRAWLER_EVENTS.failed)
  @OnEvent(CRAWLER_EVENTS.cancelled)
  onFinished(event: CrawlerJobEvent): void {
    this.metrics.m.crawlerJobsFinished.inc({ status: event.status });
  }
}
