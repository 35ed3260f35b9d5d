import type { Socket } from 'node:net';
import { BeforeApplicationShutdown, Injectable, Logger, type MessageEvent } from '@nestjs/common';
import { Observable, type Subscriber } from 'rxjs';
import { DataSource } from 'typeorm';
import { DependencyUnavailableError, jobLog } from '@app/common';
import { AppConfig } from '@app/config';
import {
  SSE_KEEPALIVE_MS,
  SSE_LIVE_BUFFER_LINES,
  SSE_REPLAY_HIGH_WATER_BYTES,
  SSE_REORDER_GRACE_MS,
  SSE_REPLAY_PAGE,
} from '../crawler.constants.js';
import {
  isTerminal,
  type CrawlerJob,
  type CrawlerJobStatus,
} from '../entities/crawler-job.entity.js';
import { CrawlerLogBus, type LogListener } from './crawler-log.bus.js';

interface LogRow {
  seq: number;
  message: string;
}

/**
 * Builds the SSE Observable of one job's log for one client.
 *
 * Every line has an id (`seq`, 1…n per job, gap-free). The stream keeps `next`, the id it must
 * emit next, and emits strictly in order, so no line is skipped or repeated whatever the timing:
 * - it subscribes to the job's live channel first, then reads PostgreSQL (history after
 *   Last-Event-ID), so a line is either in the history or arrives live — possibly both, and the
 *   copy with an id below `next` is dropped;
 * - a live batch that starts past `next` (another process committed earlier ids but published
 *   later, or a message was lost) makes it read the gap from PostgreSQL;
 * - `end` carries the job's last id; the stream reads up to it, emits `event: end`, completes. A
 *   completed job's `end` is held for CRAWLER_END_SETTLE_MS after completion: a worker's closing
 *   lines come just after its [SUMMARY], and live viewers get them too.
 * - No event but a line moves the client's last event id: `end` and `error` repeat the last line's
 *   id (Nest would number an event without one from 1, and a browser would replay from there).
 * Memory per client is bounded: history is read page by page, each page only once the client's
 * socket has drained; live lines buffered during a read are capped (past the cap they are re-read);
 * live lines a client does not read are capped by Nest (`maxPendingDataLength`), which drops the
 * connection — the EventSource reconnects with Last-Event-ID and resumes here.
 */
@Injectable()
export class CrawlerLogStream implements BeforeApplicationShutdown {
  private readonly logger = new Logger(CrawlerLogStream.name);
  private readonly openStreams = new Set<Subscriber<MessageEvent>>();

  private readonly settleMs: number;

  constructor(
    private readonly bus: CrawlerLogBus,
    private readonly dataSource: DataSource,
    config: AppConfig,
  ) {
    this.settleMs = config.crawler.endSettleMs;
  }

  /**
   * The client's stream, or null when there is nothing left to send it: a reconnect (it gave a
   * Last-Event-ID) to an ended job with no line after that id, past the settle time. The
   * controller answers that with 204, the one answer that stops a browser's EventSource.
   */
  open(
    job: CrawlerJob,
    lastEventId: number | null,
    socket?: Socket,
  ): Observable<MessageEvent> | null {
    const settling =
      job.status === 'completed' && (job.finishedAt?.getTime() ?? 0) + this.settleMs > Date.now();
    if (lastEventId !== null && isTerminal(job.status) && job.logCount <= lastEventId && !settling)
      return null;
    return this.stream(job.id, lastEventId ?? 0, socket);
  }

  /** Streams still open on this process. */
  get openCount(): number {
    return this.openStreams.size;
  }

  stream(jobId: string, afterSeq: number, socket?: Socket): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      this.openStreams.add(subscriber);
      let next = afterSeq + 1;
      let target = 0; // highest id known to exist
      let ended: { status: string; last: number } | null = null;
      let closed = false;
      let reading = false;
      let resyncWanted = true; // the first read also learns the job's status and line count
      let buffer: Array<[number, string[]]> = [];
      let buffered = 0;
      let unlisten: (() => void) | null = null;
      // Live batches that arrived ahead of `next`, held briefly for the batch between (see SSE_REORDER_GRACE_MS).
      let early = new Map<number, string[]>();
      let earlyLines = 0;
      let gapTimer: NodeJS.Timeout | undefined;
      // A completed job's `end` waits for its settle time (the worker's closing lines), then re-reads.
      let settleTimer: NodeJS.Timeout | undefined;
      let settled = false;
      const clearGap = () => {
        clearTimeout(gapTimer);
        gapTimer = undefined;
        early = new Map();
        earlyLines = 0;
      };

      const upper = () => (ended ? Math.min(target, ended.last) : target);

      /** The job ended with `last` lines; held while `settleMs` remains, then re-read for lines logged meanwhile. */
      const learnEnd = (status: string, last: number, settleMs: number) => {
        target = Math.max(target, last);
        if (ended) return;
        if (settleMs > 0 && !settled) {
          settleTimer ??= setTimeout(() => {
            settled = true;
            listener.resync();
          }, settleMs);
          return;
        }
        ended = { status, last };
      };

      const finish = () => {
        if (closed) return;
        closed = true;
        // The id repeats the last line's, so a client that reconnects after `end` resumes after it.
        subscriber.next({
          type: 'end',
          id: String(next - 1),
          data: JSON.stringify({ status: ended?.status }),
        });
        subscriber.complete();
      };

      const deliver = (first: number, lines: string[]) => {
        const last = Math.min(
          first + lines.length - 1,
          ended ? ended.last : Number.MAX_SAFE_INTEGER,
        );
        if (last < next) return; // already emitted
        if (first > next) {
          target = Math.max(target, last);
          earlyLines += lines.length;
          early.set(first, lines);
          if (earlyLines > SSE_LIVE_BUFFER_LINES) {
            clearGap();
            void read();
          } else {
            // A gap: wait briefly for the batch in between, then read it from PostgreSQL.
            gapTimer ??= setTimeout(() => {
              gapTimer = undefined;
              if (early.size) {
                clearGap();
                void read();
              }
            }, SSE_REORDER_GRACE_MS);
          }
          return;
        }
        for (let seq = next; seq <= last; seq++)
          subscriber.next({ id: String(seq), data: lines[seq - first] });
        next = last + 1;
        // The gap may be closed now: emit the held batches that follow on.
        const following = early.get(next);
        if (following) {
          early.delete(next);
          earlyLines -= following.length;
          deliver(next, following);
        }
        if (early.size === 0 && gapTimer) clearGap();
      };

      const maybeFinish = () => {
        if (ended && next > ended.last && !reading) finish();
      };

      const read = async (): Promise<void> => {
        if (reading || closed) return;
        reading = true;
        clearGap(); // the read covers everything up to `target`
        try {
          do {
            if (resyncWanted) {
              resyncWanted = false;
              // settle_ms: what remains of a completed job's settle time, by the database's clock.
              const rows = await this.dataSource.query<
                Array<{ status: CrawlerJobStatus; log_count: number; settle_ms: number | null }>
              >(
                `SELECT status, log_count, CASE WHEN status = 'completed' THEN
                   ceil($2::int - extract(epoch FROM now() - finished_at) * 1000)::int END AS settle_ms
                 FROM crawler_jobs WHERE id = $1`,
                [jobId, this.settleMs],
              );
              const job = rows[0];
              if (!job) break;
              target = Math.max(target, job.log_count);
              if (isTerminal(job.status)) learnEnd(job.status, job.log_count, job.settle_ms ?? 0);
            }
            while (!closed && next <= upper()) {
              await this.drained(socket, () => closed);
              if (closed) break;
              const rows = await this.dataSource.query<LogRow[]>(
                'SELECT seq, message FROM crawler_job_logs WHERE job_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq LIMIT $4',
                [jobId, next, upper(), SSE_REPLAY_PAGE],
              );
              if (closed || rows.length === 0) break;
              for (const row of rows) {
                if (row.seq < next) continue;
                subscriber.next({ id: String(row.seq), data: row.message });
                next = row.seq + 1;
              }
              if (rows.length < SSE_REPLAY_PAGE) break;
            }
            const live = buffer;
            buffer = [];
            buffered = 0;
            for (const [first, lines] of live) deliver(first, lines);
          } while (!closed && (resyncWanted || next <= upper()));
        } catch (error) {
          this.logger.warn(jobLog({ jobId }, `log stream failed: ${(error as Error).message}`));
          if (!closed) {
            closed = true;
            // Not subscriber.error(): Nest would frame it as `event: error` numbered `id: 1`.
            subscriber.next({
              type: 'error',
              id: String(next - 1),
              data: new DependencyUnavailableError('database').message,
            });
            subscriber.complete();
          }
        } finally {
          reading = false;
        }
        maybeFinish();
      };

      const listener: LogListener = {
        lines: (first, lines) => {
          if (closed) return;
          if (!reading) {
            deliver(first, lines);
            return maybeFinish();
          }
          target = Math.max(target, first + lines.length - 1);
          if (buffered + lines.length > SSE_LIVE_BUFFER_LINES) {
            buffer = []; // over the cap: drop, the read loop fetches up to `target` instead
            buffered = 0;
          } else {
            buffer.push([first, lines]);
            buffered += lines.length;
          }
        },
        end: (status, last) => {
          if (closed) return;
          learnEnd(status, last, status === 'completed' ? this.settleMs : 0);
          if (next <= upper()) void read();
          else maybeFinish();
        },
        resync: () => {
          resyncWanted = true;
          void read();
        },
      };

      // A comment clients ignore, so proxies keep the connection; also a safety net that re-reads
      // anything a lost pub/sub message would otherwise delay (e.g. a lost `end`).
      const keepalive = setInterval(() => {
        if (closed) return;
        subscriber.next({ comment: 'keepalive' });
        listener.resync();
      }, SSE_KEEPALIVE_MS);

      void this.bus.listen(jobId, listener).then((stop) => {
        if (subscriber.closed) return stop();
        unlisten = stop;
        void read();
      });

      return () => {
        closed = true;
        clearInterval(keepalive);
        clearTimeout(settleTimer);
        clearGap();
        unlisten?.();
        this.openStreams.delete(subscriber);
      };
    });
  }

  /** Waits while more than the high-water mark is queued for the client's socket. */
  private async drained(socket: Socket | undefined, isClosed: () => boolean): Promise<void> {
    while (
      socket &&
      !socket.destroyed &&
      !isClosed() &&
      socket.writableLength > SSE_REPLAY_HIGH_WATER_BYTES
    ) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.once('drain', done);
        socket.once('close', done);
      });
    }
  }

  /** Open streams complete so the HTTP server can close; clients reconnect (with Last-Event-ID) elsewhere. */
  beforeApplicationShutdown(): void {
    for (const subscriber of [...this.openStreams]) subscriber.complete();
    this.openStreams.clear();
  }
}
