import { setTimeout as sleep } from 'node:timers/promises';
import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { jobLog, QUEUE_NAMES, startQueueWorker } from '@app/common';
import { AppConfig } from '@app/config';
import { RunpodClient, RunpodError } from '@app/runpod';
import {
  CRAWLER_DISPATCH_JOB,
  FAILURE_RECORD_ATTEMPTS,
  FAILURE_RECORD_RETRY_MS,
} from './crawler.constants.js';
import { CrawlerService, type DispatchJobData } from './crawler.service.js';
import { Metrics } from '../metrics/metrics.service.js';

/** An attempt that could not dispatch some keywords, worded for the job's error should it be the last. */
class DispatchFailure extends Error {
  constructor(
    readonly keywords: string,
    readonly detail: string,
    readonly retryable: boolean,
  ) {
    super(
      retryable
        ? `RunPod dispatch failed for ${keywords}: ${detail}`
        : `RunPod rejected ${keywords} (not retried): ${detail}`,
    );
  }

  finalReason(attempts: number): string {
    return this.retryable
      ? `RunPod dispatch failed after ${attempts} attempt(s) for ${this.keywords}: ${this.detail}`
      : this.message;
  }
}

/**
 * Sends a job's keywords to RunPod, one request per keyword, each with the contract's body.
 * Keywords RunPod accepted are recorded, so a retry resends only the others. Unreachable,
 * timeout and 5xx throw to retry (Bull: attempts and exponential backoff from the constants);
 * a 4xx discards the Bull job. The job row fails from Bull's own `failed` event once no
 * attempt is left, so every way a dispatch ends badly — RunPod, the database, a worker that
 * died too often — fails the job with its reason.
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
    private readonly metrics: Metrics,
  ) {}

  onApplicationBootstrap(): void {
    this.queue.on('failed', (job: Job<DispatchJobData>, error: Error) => {
      this.onFailed(job, error).catch((err: Error) =>
        this.logger.error(jobLog(job.data, `could not record its failure: ${err.message}`)),
      );
    });
    startQueueWorker(
      this.queue,
      CRAWLER_DISPATCH_JOB,
      this.config.crawler.concurrency,
      (job) => this.process(job),
      this.logger,
    );
  }

  async process(job: Job<DispatchJobData>): Promise<{ dispatched: number }> {
    const { jobId } = job.data;
    const attempt = job.attemptsMade + 1;
    const attempts = job.opts.attempts ?? 1;
    const ref = job.data; // { jobId, userId }: on every line about this job
    this.logger.log(jobLog(ref, `dispatch attempt ${attempt}/${attempts}`));
    const crawlerJob = await this.crawler.beginDispatch(jobId);
    if (!crawlerJob) {
      this.logger.log(jobLog(ref, 'no longer active (cancelled or ended), nothing to dispatch'));
      this.metrics.m.crawlerDispatchAttempts.inc({ outcome: 'skipped' });
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
        this.logger.debug(
          jobLog(ref, `RunPod accepted keyword ${index}`, { run_id: result.runId }),
        );
        // Cancelled while the request was out: stop what was just started.
        if (!stillRunning && result.runId)
          await this.runpod.cancel(result.runId).catch(() => undefined);
      }),
    );
    const errors = results.flatMap((result) =>
      result.status === 'rejected' ? [result.reason as unknown] : [],
    );
    for (const error of errors) this.metrics.runpodFailed(error);
    if (errors.length === 0) {
      this.metrics.m.crawlerDispatchAttempts.inc({ outcome: 'dispatched' });
      this.logger.log(jobLog(ref, `${todo.length} keyword(s) dispatched to RunPod`));
      return { dispatched: todo.length };
    }

    const error = errors.find((e) => e instanceof RunpodError && !e.retryable) ?? errors[0];
    const retryable = error instanceof RunpodError ? error.retryable : true;
    if (!retryable) await job.discard();
    const final = !retryable || attempt >= attempts;
    this.metrics.m.crawlerDispatchAttempts.inc({ outcome: final ? 'failed' : 'retry' });
    throw new DispatchFailure(
      `${errors.length} of ${todo.length} keyword(s)`,
      error instanceof Error ? error.message : String(error),
      retryable,
    );
  }

  private async onFailed(job: Job<DispatchJobData>, error: Error): Promise<void> {
    if (job.name !== CRAWLER_DISPATCH_JOB) return;
    const { jobId } = job.data;
    const attempts = job.opts.attempts ?? 1;
    const discarded = (job as Job<DispatchJobData> & { isDiscarded(): boolean }).isDiscarded();
    if (!discarded && job.attemptsMade < attempts) {
      // Debug: a retried failure is not news; the final one is logged once, with its cause, below.
      this.logger.debug(
        jobLog(
          job.data,
          `attempt ${job.attemptsMade}/${attempts} failed, will retry: ${error.message}`,
        ),
      );
      return;
    }
    const reason =
      error instanceof DispatchFailure
        ? error.finalReason(job.attemptsMade)
        : `Dispatch failed after ${job.attemptsMade} attempt(s): ${error?.message || 'unknown error'}`;
    // The last attempt may have failed because PostgreSQL is down, and then so would recording it:
    // retried while it lasts, or the job would stay `queued` for good (nothing else retries it).
    for (let attempt = 1; ; attempt++) {
      try {
        if (await this.crawler.fail(jobId, reason))
          this.logger.warn(jobLog(job.data, reason, { attempts: job.attemptsMade }));
        return;
      } catch (error) {
        if (attempt >= FAILURE_RECORD_ATTEMPTS) throw error;
        await sleep(FAILURE_RECORD_RETRY_MS * attempt, undefined, { ref: false });
      }
    }
  }
}
