import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { RedisFanout, RedisService } from '@app/common';
import { LOG_CHANNEL } from '../crawler.constants.js';
import { Metrics } from '../../metrics/metrics.service.js';

/** A stream's side of the bus: lines as committed, the end of the job, and "re-read, you may have missed something". */
export interface LogListener {
  lines(first: number, lines: string[]): void;
  end(status: string, last: number): void;
  resync(): void;
}

/**
 * Wire format on a job's channel; one message per committed batch. `a`: when the batch was
 * committed (ms since epoch), for the delivery-lag histogram; `o`: the publishing process, which
 * delivered it to its own streams already (both absent from older publishers).
 */
type BusMessage = (
  { t: 'l'; s: number; l: string[]; a?: number } | { t: 'e'; st: string; last: number }
) & { o?: string };

const SUBSCRIBE_WAIT_MS = 2_000;

/**
 * Live fan-out of committed log lines, one channel per job (over the shared RedisFanout).
 * PostgreSQL is the source of truth: a lost message only delays a stream (it notices the gap
 * in ids, or re-reads on resync), it never loses a line.
 *
 * Streams on the process that committed a batch get it at once, in process; Redis carries it to
 * the other processes (and this process skips its own copy). That takes the Redis round trip —
 * two more processes to be scheduled on a busy host — off half the deliveries of a two-process
 * deployment. Hot path: per batch, one publish and a loop over the job's local streams.
 */
@Injectable()
export class CrawlerLogBus {
  private readonly logger = new Logger(CrawlerLogBus.name);
  /** This process on the bus: its own messages coming back from Redis are skipped. */
  private readonly origin = randomUUID();
  /** Streams on this process, by job. */
  private readonly local = new Map<string, Set<LogListener>>();

  constructor(
    private readonly redis: RedisService,
    private readonly fanout: RedisFanout,
    private readonly metrics: Metrics,
  ) {}

  /** Fire and forget: the lines are durable already, and streams re-read what they miss. */
  publishLines(jobId: string, first: number, lines: string[]): void {
    const committedAt = Date.now();
    this.publish(jobId, { t: 'l', s: first, l: lines, a: committedAt, o: this.origin });
    this.deliverLocally(jobId, (listener) => {
      this.metrics.m.crawlerDeliveryLag.observe(Math.max(0, Date.now() - committedAt) / 1000);
      listener.lines(first, lines);
    });
  }

  publishEnd(jobId: string, status: string, last: number): void {
    this.publish(jobId, { t: 'e', st: status, last, o: this.origin });
    this.deliverLocally(jobId, (listener) => listener.end(status, last));
  }

  /** The caller has committed already: a stream's failure is logged, never thrown back into the write. */
  private deliverLocally(jobId: string, deliver: (listener: LogListener) => void): void {
    const listeners = this.local.get(jobId);
    if (!listeners) return;
    for (const listener of listeners) {
      try {
        deliver(listener);
      } catch (error) {
        this.logger.warn(
          `local delivery to a stream of job ${jobId} failed: ${(error as Error).message}`,
        );
      }
    }
  }

  /**
   * Registers `listener` for the job's channel and resolves once Redis confirmed the subscription
   * (or after a short wait if Redis is down: the stream then relies on resync). Returns the unsubscribe.
   */
  async listen(jobId: string, listener: LogListener): Promise<() => void> {
    const subscription = this.fanout.subscribe<BusMessage>(this.channel(jobId), {
      message: (message) => {
        if (message.o === this.origin) return; // delivered in process when published
        if (message.t !== 'l') return listener.end(message.st, message.last);
        if (message.a)
          this.metrics.m.crawlerDeliveryLag.observe(Math.max(0, Date.now() - message.a) / 1000);
        listener.lines(message.s, message.l);
      },
      reconnected: () => listener.resync(),
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      subscription.ready.catch((error: Error) =>
        this.logger.warn(`subscribe ${jobId} failed: ${error.message}`),
      ),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, SUBSCRIBE_WAIT_MS))),
    ]);
    clearTimeout(timer);
    let listeners = this.local.get(jobId);
    if (!listeners) this.local.set(jobId, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      subscription.unsubscribe();
      listeners.delete(listener);
      if (listeners.size === 0 && this.local.get(jobId) === listeners) this.local.delete(jobId);
    };
  }

  private channel(jobId: string): string {
    return this.redis.key(...LOG_CHANNEL(jobId));
  }

  private publish(jobId: string, message: BusMessage): void {
    this.fanout.publish(this.channel(jobId), message).catch((error: Error) => {
      this.logger.warn(
        `publish to job ${jobId} failed (${error.message}); its streams will catch up from PostgreSQL`,
      );
    });
  }
}
