import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisService } from '@app/common';
import { LOG_CHANNEL } from '../crawler.constants.js';

/** A stream's side of the bus: lines as committed, the end of the job, and "re-read, you may have missed something". */
export interface LogListener {
  lines(first: number, lines: string[]): void;
  end(status: string, last: number): void;
  resync(): void;
}

/** Wire format on a job's channel; one message per committed batch, parsed once per process. */
type BusMessage = { t: 'l'; s: number; l: string[] } | { t: 'e'; st: string; last: number };

const SUBSCRIBE_WAIT_MS = 2_000;

/**
 * Live fan-out of committed log lines through Redis pub/sub, one channel per job.
 * PostgreSQL is the source of truth: a lost message only delays a stream (it notices the gap
 * in ids, or re-reads on resync), it never loses a line. One subscriber connection per process,
 * shared by every stream; a channel is subscribed while at least one local stream watches it.
 */
@Injectable()
export class CrawlerLogBus implements OnApplicationShutdown {
  private readonly logger = new Logger(CrawlerLogBus.name);
  private subscriber: Redis | null = null;
  private readonly channels = new Map<
    string,
    { listeners: Set<LogListener>; ready: Promise<void> }
  >();
  private readonly channelPrefix: string;

  constructor(private readonly redis: RedisService) {
    this.channelPrefix = redis.key(...LOG_CHANNEL(''));
  }

  /** Fire and forget: the lines are durable already, and streams re-read what they miss. */
  publishLines(jobId: string, first: number, lines: string[]): void {
    this.publish(jobId, JSON.stringify({ t: 'l', s: first, l: lines }));
  }

  publishEnd(jobId: string, status: string, last: number): void {
    this.publish(jobId, JSON.stringify({ t: 'e', st: status, last }));
  }

  private publish(jobId: string, payload: string): void {
    this.redis.client.publish(this.channelPrefix + jobId, payload).catch((error: Error) => {
      this.logger.warn(
        `publish to job ${jobId} failed (${error.message}); its streams will catch up from PostgreSQL`,
      );
    });
  }

  /**
   * Registers `listener` for the job's channel and resolves once Redis confirmed the subscription
   * (or after a short wait if Redis is down: the stream then relies on resync). Returns the unsubscribe.
   */
  async listen(jobId: string, listener: LogListener): Promise<() => void> {
    const sub = this.connection();
    const channel = this.channelPrefix + jobId;
    let entry = this.channels.get(jobId);
    if (!entry) {
      const ready = sub.subscribe(channel).then(
        () => undefined,
        (error: Error) => this.logger.warn(`subscribe ${jobId} failed: ${error.message}`),
      );
      entry = { listeners: new Set(), ready };
      this.channels.set(jobId, entry);
    }
    entry.listeners.add(listener);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      entry.ready,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, SUBSCRIBE_WAIT_MS))),
    ]);
    clearTimeout(timer);
    const current = entry;
    return () => {
      current.listeners.delete(listener);
      if (current.listeners.size === 0 && this.channels.get(jobId) === current) {
        this.channels.delete(jobId);
        sub.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  /** Streams open on this process (for tests and metrics). */
  get listenerCount(): number {
    let count = 0;
    for (const entry of this.channels.values()) count += entry.listeners.size;
    return count;
  }

  private connection(): Redis {
    if (this.subscriber) return this.subscriber;
    const sub = this.redis.connect('crawler-sub', { maxRetriesPerRequest: null });
    let connectedBefore = false;
    sub.on('ready', () => {
      // ioredis re-subscribes by itself; whatever was published while we were away is re-read from PostgreSQL.
      if (connectedBefore)
        for (const entry of this.channels.values()) for (const l of entry.listeners) l.resync();
      connectedBefore = true;
    });
    sub.on('message', (channel: string, payload: string) => this.dispatch(channel, payload));
    this.subscriber = sub;
    return sub;
  }

  private dispatch(channel: string, payload: string): void {
    const entry = this.channels.get(channel.slice(this.channelPrefix.length));
    if (!entry) return;
    let message: BusMessage;
    try {
      message = JSON.parse(payload) as BusMessage;
    } catch {
      return;
    }
    for (const listener of entry.listeners) {
      if (message.t === 'l') listener.lines(message.s, message.l);
      else listener.end(message.st, message.last);
    }
  }

  onApplicationShutdown(): void {
    this.channels.clear();
    this.subscriber = null; // RedisService closes the connection itself
  }
}
