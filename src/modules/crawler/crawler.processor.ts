import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { QUEUE_NAMES } from '@app/common';
import { AppConfig } from '@app/config';
import { RunpodClient, RunpodError } from '@app/runpod';
import { CRAWLER_DISPATCH_JOB } from './crawler.constants.js';
import { CrawlerService, type DispatchJobData } from './crawler.service.js';

/**
 * Sends a job's keywords to RunPod, one request per keyword, each with the contract's body.
 * Keywords RunPod accepted are recorded, so a retry resends only the others. Unreachable,
 * timeout and 5xx throw to retry (Bull: attempts and exponential backoff from the constants);
 * a 4xx, or the last attempt, fails the job with the reason and discards the Bull job.
 * Registered with `queue.process` rather than `@Process` so the concurrency comes from config.
 */
@Injectable()
export class CrawlerDispatchProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(CrawlerDispatchProcessor.name);

  constructor(
    @InjectQueue(QUEUE_NAMES.crawler) private readonly queue: Queue<DispatchJobData>,
    private readonly crawler: CrawlerService,
    private readonly runpod: RunpodClient,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    // Settles only when the queue closes; a rejection (Redis gone, or the app closed before the
    // worker was ready) must be reported, never left unhandled.
    this.queue
      .process(CRAWLER_DISPATCH_JOB, this.config.crawler.concurrency, (job) => this.process(job))
      .catch((error: Error) => this.logger.warn(`crawler worker stopped: ${error.message}`));
  }

  async process(job: Job<DispatchJobData>): Promise<{ dispatched: number }> {
    const { jobId } = job.data;
    const attempt = job.attemptsMade + 1;
    const attempts = job.opts.attempts ?? 1;
    this.logger.log(`job ${jobId}: dispatch attempt ${attempt}/${attempts}`);
    const crawlerJob = await this.crawler.beginDispatch(jobId);
    if (!crawlerJob) {
      this.logger.log(`job ${jobId}: no longer active (cancelled or ended), nothing to dispatch`);
      return { dispatched: 0 };
    }
    const todo = crawlerJob.keywords
      .map((keyword, index) => ({ keyword, index }))
      .filter(({ index }) => !(String(index) in crawlerJob.runpodRuns));

    const results = await Promise.allSettled(
      todo.map(async ({ keyword, index }) => {
        const result = await this.runpod.dispatch({
          data: keyword,
          num_domains: crawlerJob.domainCount,
          job_id: jobId,
        });
        const stillRunning = await this.crawler.recordDispatch(
          jobId,
          index,
          result.runId,
          result.domains,
        );
        // Cancelled while the request was out: stop what was just started.
        if (!stillRunning && result.runId)
          await this.runpod.cancel(result.runId).catch(() => undefined);
      }),
    );
    const errors = results.flatMap((result) =>
      result.status === 'rejected' ? [result.reason as unknown] : [],
    );
    if (errors.length === 0) {
      this.logger.log(`job ${jobId}: ${todo.length} keyword(s) dispatched to RunPod`);
      return { dispatched: todo.length };
    }

    const error = errors.find((e) => e instanceof RunpodError && !e.retryable) ?? errors[0];
    const message = error instanceof Error ? error.message : String(error);
    const retryable = error instanceof RunpodError ? error.retryable : true;
    const final = !retryable || attempt >= attempts;
    const failedCount = `${errors.length} of ${todo.length} keyword(s)`;
    if (final) {
      await job.discard();
      const reason = retryable
        ? `RunPod dispatch failed after ${attempt} attempt(s) for ${failedCount}: ${message}`
        : `RunPod rejected ${failedCount} (not retried): ${message}`;
      await this.crawler.fail(jobId, reason);
      this.logger.warn(`job ${jobId}: ${reason}`);
    } else {
      this.logger.warn(
        `job ${jobId}: attempt ${attempt}/${attempts} failed for ${failedCount}, will retry: ${message}`,
      );
    }
    throw error instanceof Error ? error : new Error(message);
  }
}
