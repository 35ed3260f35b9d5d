import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { MessageEvent } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Observable, type Subscriber } from 'rxjs';
import { RedisService } from '@app/common';
import {
  FINAL_SCRAPER_STATUSES,
  type ScrapeResult,
  type ScraperJobStatus,
} from './entities/scraper-job.entity.js';
import { SCRAPER_EVENTS_CHANNEL, SSE_KEEPALIVE_MS } from './scraper.constants.js';

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
  | { type: 'progress'; job_id: string; progress: number };

/**
 * Job events across processes: workers publish on one Redis channel; every API process
 * holds ONE subscriber connection, shared by all its SSE streams, and routes messages to
 * the streams of that job. A stream ends with `end` once the job is completed or failed.
 */
@Injectable()
export class ScraperEventsService implements OnModuleDestroy {
  private readonly logger = new Logger(ScraperEventsService.name);
  private readonly listeners = new Map<string, Set<(event: ScrapeJobEvent) => void>>();
  private readonly streams = new Set<Subscriber<MessageEvent>>();
  private subscriber?: Redis;
  private subscribed?: Promise<void>;
  private readonly channel: string;

  constructor(private readonly redis: RedisService) {
    this.channel = redis.key(SCRAPER_EVENTS_CHANNEL);
  }

  async publish(event: ScrapeJobEvent): Promise<void> {
    await this.redis.client.publish(this.channel, JSON.stringify(event));
  }

  /**
   * The SSE stream of one job: its current state first (read after subscribing, so no
   * event falls between), then live `status`/`progress` events, then `end`.
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
            data: { job_id: event.job_id, progress: event.progress },
          });
          return;
        }
        subscriber.next({ id: String(++seq), type: 'status', data: event.job });
        if (FINAL_SCRAPER_STATUSES.has(event.job.status)) {
          subscriber.next({
            id: String(++seq),
            type: 'end',
            data: { status: event.job.status, result: event.job.result, error: event.job.error },
          });
          subscriber.complete();
        }
      };
      const listener = (event: ScrapeJobEvent) => (ready ? emit(event) : pending.push(event));
      // A comment line now and then keeps proxies from closing a quiet stream (a scrape may take minutes).
      const keepalive = setInterval(
        () => subscriber.next({ comment: 'keepalive' }),
        SSE_KEEPALIVE_MS,
      );
      keepalive.unref();
      this.addListener(jobId, listener);
      this.streams.add(subscriber);

      this.ensureSubscribed()
        .then(current)
        .then((snapshot) => {
          // The progress first: a final status ends the stream.
          emit({ type: 'progress', job_id: jobId, progress: snapshot.progress });
          emit({ type: 'status', job: snapshot });
          ready = true;
          for (const event of pending.splice(0)) emit(event);
        })
        .catch((error: unknown) => subscriber.error(error));

      return () => {
        clearInterval(keepalive);
        this.removeListener(jobId, listener);
        this.streams.delete(subscriber);
      };
    });
  }

  /** Shutdown: open streams complete, so the HTTP server can close its connections. */
  onModuleDestroy(): void {
    for (const stream of [...this.streams]) stream.complete();
    this.streams.clear();
  }

  private addListener(jobId: string, listener: (event: ScrapeJobEvent) => void): void {
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
  }

  private removeListener(jobId: string, listener: (event: ScrapeJobEvent) => void): void {
    const set = this.listeners.get(jobId);
    set?.delete(listener);
    if (set && !set.size) this.listeners.delete(jobId);
  }

  private ensureSubscribed(): Promise<void> {
    if (!this.subscribed) {
      const subscriber = (this.subscriber = this.redis.connect('scraper-sub', {
        maxRetriesPerRequest: null,
      }));
      subscriber.on('message', (channel: string, message: string) => {
        if (channel !== this.channel) return;
        let event: ScrapeJobEvent;
        try {
          event = JSON.parse(message) as ScrapeJobEvent;
        } catch {
          return this.logger.warn(`ignoring a malformed event on ${channel}`);
        }
        const jobId = event.type === 'status' ? event.job.job_id : event.job_id;
        for (const listener of this.listeners.get(jobId) ?? []) listener(event);
      });
      this.subscribed = subscriber.subscribe(this.channel).then(
        () => undefined,
        (error: unknown) => {
          this.subscribed = undefined; // let the next stream try again
          subscriber.disconnect();
          throw error;
        },
      );
    }
    return this.subscribed;
  }
}
