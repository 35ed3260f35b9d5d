import { Injectable, OnModuleDestroy } from '@nestjs/common';
import type { MessageEvent } from '@nestjs/common';
import { Observable, type Subscriber } from 'rxjs';
import { RedisFanout, RedisService } from '@app/common';
import {
  FINAL_SCRAPER_STATUSES,
  type ScrapeResult,
  type ScraperJobStatus,
} from './entities/scraper-job.entity.js';
import {
  batchProgress,
  FINAL_BATCH_STATUSES,
  type BatchProgress,
} from './scraper-batch.progress.js';
import {
  SCRAPER_END_EVENT_ID,
  SCRAPER_EVENTS_CHANNEL,
  SSE_KEEPALIVE_MS,
} from './scraper.constants.js';

/** A job's state as events carry it (snake_case, like the API). */
export interface ScrapeJobSnapshot {
  job_id: string;
  status: ScraperJobStatus;
  progress: number;
  attempts_made: number;
  error: string | null;
  result: ScrapeResult | null;
}

export type ScrapeJobEvent =
  | { type: 'status'; job: ScrapeJobSnapshot }
  | {
      type: 'progress';
      job_id: string;
      progress: number;
      /** Area coverage: cells done / known. */
      rectangles?: { done: number; known: number };
    };

/**
 * Job events across processes, one channel per job over the shared RedisFanout: workers
 * publish, and only processes with a viewer of that job receive. A stream starts from the
 * job's current state, follows live `status`/`progress` events, and ends with `end` once the
 * job is completed or failed.
 */
@Injectable()
export class ScraperEventsService implements OnModuleDestroy {
  private readonly streams = new Set<Subscriber<MessageEvent>>();

  constructor(
    private readonly redis: RedisService,
    private readonly fanout: RedisFanout,
  ) {}

  async publish(event: ScrapeJobEvent): Promise<void> {
    const jobId = event.type === 'status' ? event.job.job_id : event.job_id;
    await this.fanout.publish(this.channel(jobId), event);
  }

  /**
   * The SSE stream of one job: its current state first (read after subscribing, so no
   * event falls between), then live events, then `end`. The state is read again if the
   * subscriber connection was lost, since pub/sub drops what it could not deliver.
   */
  stream(jobId: string, current: () => Promise<ScrapeJobSnapshot>): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      let seq = 0;
      let ready = false;
      const pending: ScrapeJobEvent[] = [];
      const emit = (event: ScrapeJobEvent) => {
        if (subscriber.closed) return;
        if (event.type === 'progress') {
          subscriber.next({
            id: String(++seq),
            type: 'progress',
            data: {
              job_id: event.job_id,
              progress: event.progress,
              ...(event.rectangles ? { rectangles: event.rectangles } : {}),
            },
          });
          return;
        }
        subscriber.next({ id: String(++seq), type: 'status', data: event.job });
        if (FINAL_SCRAPER_STATUSES.has(event.job.status)) {
          // A fixed id: a client that reconnects with it has seen `end` (answered 204, see SCRAPER_END_EVENT_ID).
          subscriber.next({
            id: SCRAPER_END_EVENT_ID,
            type: 'end',
            data: { status: event.job.status, result: event.job.result, error: event.job.error },
          });
          subscriber.complete();
        }
      };
      const snapshot = () =>
        current().then((job) => {
          // The progress first: a final status ends the stream.
          emit({ type: 'progress', job_id: jobId, progress: job.progress });
          emit({ type: 'status', job });
        });
      const subscription = this.fanout.subscribe<ScrapeJobEvent>(this.channel(jobId), {
        message: (event) => (ready ? emit(event) : pending.push(event)),
        reconnected: () => {
          if (ready) snapshot().catch((error: unknown) => subscriber.error(error));
        },
      });
      // A comment line now and then keeps proxies from closing a quiet stream (a scrape may take minutes).
      const keepalive = setInterval(
        () => subscriber.next({ comment: 'keepalive' }),
        SSE_KEEPALIVE_MS,
      );
      keepalive.unref();
      this.streams.add(subscriber);

      subscription.ready
        .then(snapshot)
        .then(() => {
          ready = true;
          for (const event of pending.splice(0)) emit(event);
        })
        .catch((error: unknown) => subscriber.error(error));

      return () => {
        clearInterval(keepalive);
        subscription.unsubscribe();
        this.streams.delete(subscriber);
      };
    });
  }

  /**
   * The one SSE stream of a batch: the same per-job channels the job streams use (nothing is
   * published twice, the workers' hot path is unchanged), merged. It starts with every job's
   * current `status` and the `batch` aggregate, follows each job's `status`/`progress` events,
   * each followed by the new `batch` aggregate, and ends with `end` (the final aggregate) once
   * every job is over. The aggregate is kept in memory from the events: no query per event;
   * the jobs are read again only when the subscriber connection was lost.
   *
   * Cost: one channel subscription per job (at most MAX_BATCH_AREAS), shared with any job stream
   * of the same process; O(jobs) per event to re-aggregate (≤ 50). Add nothing per event here.
   */
  batchStream(
    batchId: string,
    current: () => Promise<ScrapeJobSnapshot[]>,
  ): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      let seq = 0;
      let ready = false;
      const pending: ScrapeJobEvent[] = [];
      const jobs = new Map<string, ScrapeJobSnapshot>();
      const subscriptions: Array<{ unsubscribe(): void }> = [];
      const aggregate = (): BatchProgress & { batch_id: string } => ({
        batch_id: batchId,
        ...batchProgress(jobs.values()),
      });
      const sendAggregate = () => {
        const state = aggregate();
        subscriber.next({ id: String(++seq), type: 'batch', data: state });
        if (FINAL_BATCH_STATUSES.has(state.status)) {
          subscriber.next({ id: SCRAPER_END_EVENT_ID, type: 'end', data: state });
          subscriber.complete();
        }
      };
      const apply = (event: ScrapeJobEvent) => {
        if (subscriber.closed) return;
        if (event.type === 'progress') {
          const job = jobs.get(event.job_id);
          // A progress event never moves a finished job back (events of a late attempt).
          if (!job || FINAL_SCRAPER_STATUSES.has(job.status)) return;
          job.progress = event.progress;
          subscriber.next({
            id: String(++seq),
            type: 'progress',
            data: { job_id: event.job_id, progress: event.progress },
          });
        } else {
          if (!jobs.has(event.job.job_id)) return;
          jobs.set(event.job.job_id, { ...event.job });
          subscriber.next({ id: String(++seq), type: 'status', data: event.job });
        }
        sendAggregate();
      };
      const snapshot = () =>
        current().then((rows) => {
          if (subscriber.closed) return;
          for (const row of rows) {
            jobs.set(row.job_id, { ...row });
            subscriber.next({ id: String(++seq), type: 'status', data: row });
          }
          sendAggregate();
        });
      const subscribeAll = (jobIds: string[]) =>
        Promise.all(
          jobIds.map((jobId) => {
            const subscription = this.fanout.subscribe<ScrapeJobEvent>(this.channel(jobId), {
              message: (event) => (ready ? apply(event) : pending.push(event)),
              reconnected: () => {
                if (ready) snapshot().catch((error: unknown) => subscriber.error(error));
              },
            });
            subscriptions.push(subscription);
            return subscription.ready;
          }),
        );
      const keepalive = setInterval(
        () => subscriber.next({ comment: 'keepalive' }),
        SSE_KEEPALIVE_MS,
      );
      keepalive.unref();
      this.streams.add(subscriber);

      // The job ids first (a batch's jobs never change), then subscribe to each, then read their
      // state again: an event published between the two reads is then either in the second
      // read or delivered after it (and applied in order).
      current()
        .then((rows) => subscribeAll(rows.map((row) => row.job_id)))
        .then(snapshot)
        .then(() => {
          ready = true;
          for (const event of pending.splice(0)) apply(event);
        })
        .catch((error: unknown) => subscriber.error(error));

      return () => {
        clearInterval(keepalive);
        for (const subscription of subscriptions) subscription.unsubscribe();
        this.streams.delete(subscriber);
      };
    });
  }

  /** Shutdown: open streams complete, so the HTTP server can close its connections. */
  onModuleDestroy(): void {
    for (const stream of [...this.streams]) stream.complete();
    this.streams.clear();
  }

  private channel(jobId: string): string {
    return this.redis.key(SCRAPER_EVENTS_CHANNEL, jobId);
  }
}
