import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { TIMEOUT_SWEEP_MAX_MS, TIMEOUT_SWEEP_MIN_MS } from './crawler.constants.js';
import { CrawlerService } from './crawler.service.js';

/**
 * Fails running jobs that RunPod has not been heard from within CRAWLER_JOB_TIMEOUT. The check is
 * one conditional UPDATE, so every worker process may run it: each job fails exactly once.
 */
@Injectable()
export class CrawlerTimeoutSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(CrawlerTimeoutSweeper.name);
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly crawler: CrawlerService,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const every = Math.min(
      TIMEOUT_SWEEP_MAX_MS,
      Math.max(TIMEOUT_SWEEP_MIN_MS, this.config.crawler.jobTimeoutMs / 4),
    );
    this.timer = setInterval(() => void this.sweep(), every);
    this.timer.unref();
  }

  async sweep(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.crawler.failInactive();
    } catch (error) {
      this.logger.warn(`inactivity sweep failed: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
