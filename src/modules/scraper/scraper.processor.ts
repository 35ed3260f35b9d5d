import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { jobLog, startQueueWorker } from '@app/common';
import { AppConfig } from '@app/config';
import { ProviderError } from '@app/google-maps';
import type { ScrapeResult } from './entities/scraper-job.entity.js';
import { AreaCoverageService, type AreaCoverResult } from './area/area-coverage.service.js';
import { ScrapeBudgetExhaustedError, ScraperFlightService } from './scraper-flight.service.js';
import { ScraperProviders } from './scraper-providers.service.js';
import { Metrics } from '../metrics/metrics.service.js';
import { ScraperService } from './scraper.service.js';
import {
  AREA_PROGRESS_INTERVAL_MS,
  SCRAPE_JOB,
  SCRAPE_PROGRESS,
  SCRAPER_ATTEMPTS,
  SCRAPER_QUEUE,
  type ScrapeJobData,
} from './scraper.constants.js';

/** Thrown when an attempt outlives SCRAPER_JOB_TIMEOUT; Bull fails the attempt at the same moment. */
export class ScrapeTimeoutError extends Error {
  constructor(ms: number) {
    super(`Scrape attempt timed out after ${Math.round(ms / 1000)} s`);
    this.name = 'ScrapeTimeoutError';
  }
}

/**
 * The scrape worker, registered only in processes that run workers (APP_ROLE=all|worker).
 * Registered by hand rather than with @Process so the concurrency comes from the validated
 * config (a decorator argument cannot read it).
 */
@Injectable()
export class ScraperProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(ScraperProcessor.name);

  constructor(
    @InjectQueue(SCRAPER_QUEUE) private readonly queue: Queue<ScrapeJobData>,
    private readonly flights: ScraperFlightService,
    private readonly scraper: ScraperService,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    private readonly providers: ScraperProviders,
    private readonly area: AreaCoverageService,
  ) {}

  onApplicationBootstrap(): void {
    // Bull's own 'failed' covers every way an attempt ends badly: a thrown error, its
    // timeout, or a job that stalled too often; the row follows from it.
    this.queue.on('failed', (job: Job<ScrapeJobData>, error: Error) => {
      this.onFailed(job, error).catch((err: Error) =>
        this.logger.error(jobLog(job.data, `could not record its failure: ${err.message}`)),
      );
    });
    this.queue.on('stalled', (job: Job<ScrapeJobData>) =>
      this.logger.warn(jobLog(job.data, 'stalled (its worker stopped); running it again')),
    );
    startQueueWorker(
      this.queue,
      SCRAPE_JOB,
      this.config.scraper.concurrency,
      (job: Job<ScrapeJobData>) => this.handle(job),
      this.logger,
    );
    this.logger.log(
      `scraper worker running, concurrency ${this.config.scraper.concurrency}, providers: ${this.providers.describe()}`,
    );
  }

  async handle(job: Job<ScrapeJobData>): Promise<ScrapeResult> {
    const data = job.data;
    const attempt = job.attemptsMade + 1;
    const timeoutMs = this.config.scraper.jobTimeoutMs;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new ScrapeTimeoutError(timeoutMs)), timeoutMs);
    timer.unref();
    this.logger.log(
      jobLog(data, `attempt ${attempt}/${SCRAPER_ATTEMPTS} "${data.keyword}" in ${data.location}`, {
        provider: this.providers.get(data.provider).name,
      }),
    );
    try {
      // The row and the SSE subscribers get every milestone; Bull's own progress (Bull Board)
      // only the mid-way one, which spares a Redis round trip per job.
      await this.scraper.markProcessing(data.jobId, attempt);

      // The cache, another job's provider call in flight, or this job's own (single flight);
      // an area job covers its area cell by cell instead (each cell cached on its own), always
      // with Google Places.
      const area = data.coverage === 'area' ? await this.coverArea(data, abort.signal) : undefined;
      const { places, source, provider, fellBackFrom } = area
        ? {
            places: area.places,
            source: `${area.rectangles.cached} cached cells, ${area.requests} requests`,
            provider: 'google-places' as const,
            fellBackFrom: undefined,
          }
        : await this.flights.search(data, abort.signal);
      this.throwIfAborted(abort.signal);
      await Promise.all([
        job.progress(SCRAPE_PROGRESS.fetched),
        this.scraper.reportProgress(data.jobId, SCRAPE_PROGRESS.fetched, area?.rectangles),
      ]);

      const stored = await this.scraper.storePlaces(data, places);
      const result: ScrapeResult = area
        ? {
            ...stored,
            coverage: area.coverage,
            truncated_reason: area.truncatedReason,
            requests: area.requests,
            rectangles: area.rectangles,
          }
        : stored;
      this.metrics.placesStored(result);
      this.throwIfAborted(abort.signal);
      await this.scraper.markCompleted(data.jobId, result, provider);
      this.logger.log(
        jobLog(
          data,
          `completed (places from ${provider} ${source}${fellBackFrom ? `, fallback for ${fellBackFrom.provider}` : ''}), ` +
            `${result.total} found, ${result.inserted} new, ${result.duplicates} duplicates`,
        ),
      );
      return result;
    } catch (error) {
      // A wrong key, an invalid request or a spent budget will fail the same way every time: no retries.
      if (
        (error instanceof ProviderError && !error.retryable) ||
        error instanceof ScrapeBudgetExhaustedError
      )
        void job.discard();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** An area job's cover, its progress (cells done / known) reported at most every AREA_PROGRESS_INTERVAL_MS. */
  private async coverArea(data: ScrapeJobData, signal: AbortSignal): Promise<AreaCoverResult> {
    let last = 0;
    const span = SCRAPE_PROGRESS.fetched - SCRAPE_PROGRESS.started;
    const result = await this.area.cover(data, signal, async ({ done, known }) => {
      if (Date.now() - last < AREA_PROGRESS_INTERVAL_MS) return;
      last = Date.now();
      const progress = SCRAPE_PROGRESS.started + Math.floor((span * done) / Math.max(known, 1));
      await this.scraper.reportProgress(data.jobId, progress, { done, known });
    });
    this.logger.log(
      jobLog(
        data,
        `area covered (${result.coverage}${result.truncatedReason ? `: ${result.truncatedReason}` : ''}), ` +
          `${result.places.length} places, ${result.requests} requests, ${result.rectangles.done}/${result.rectangles.known} cells`,
      ),
    );
    return result;
  }

  private throwIfAborted(signal: AbortSignal): void {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
  }

  private async onFailed(job: Job<ScrapeJobData>, error: Error): Promise<void> {
    if (job.name !== SCRAPE_JOB) return;
    const attempts = job.opts.attempts ?? 1;
    const discarded = (job as Job<ScrapeJobData> & { isDiscarded(): boolean }).isDiscarded();
    const final = job.attemptsMade >= attempts || discarded;
    const message = error?.message || 'Unknown error';
    // A provider failure is logged once, with its cause, when the job fails for good; the
    // attempts before it only at debug level (the row and the metrics count them).
    const entry = jobLog(
      job.data,
      `attempt ${job.attemptsMade}/${attempts} failed: ${message}${final ? ' (final)' : '; will retry'}`,
      { attempts: job.attemptsMade, cause: error?.name },
    );
    if (final) this.logger.warn(entry);
    else this.logger.debug(entry);
    await this.scraper.markAttemptFailed(
      job.data.jobId,
      final ? message : `Attempt ${job.attemptsMade} of ${attempts} failed: ${message}; retrying`,
      job.attemptsMade,
      final,
    );
  }
}
