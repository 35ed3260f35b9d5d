import { performance } from 'node:perf_hooks';
import {
  Injectable,
  Logger,
  NotFoundException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { jobLog, PreparedStatement } from '@app/common';
import {
  LATE_LINE_GRACE_SECONDS,
  LOG_WRITER_MAX_BATCH_LINES,
  LOG_WRITER_MAX_IN_FLIGHT,
} from '../crawler.constants.js';
import { CrawlerService, DOMAIN_SET_SQL } from '../crawler.service.js';
import { Metrics } from '../../metrics/metrics.service.js';
import { CrawlerLogBus } from './crawler-log.bus.js';
import { parseLineEffects, storableLine } from './log-line.parser.js';

export class UnknownCrawlerJobError extends NotFoundException {
  constructor(jobId: string) {
    super(unknownJobMessage(jobId));
  }
}

export const unknownJobMessage = (jobId: string) => `Job ${jobId} not found or already completed`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Job ids are UUIDs: anything else is an unknown job, known without a query. */
export const isJobId = (jobId: string): boolean => UUID.test(jobId);

/** PostgreSQL refused the data itself (SQLSTATE class 22, data exception): the lines' fault, not the database's. */
export class UnstorableLineError extends UnprocessableEntityException {
  constructor(reason: string) {
    super(`The line(s) cannot be stored: ${reason}`);
  }
}

interface Waiter {
  /** How many of the job's pending lines are this request's (they are contiguous, in order). */
  count: number;
  resolve(): void;
  reject(error: unknown): void;
}

interface PendingJob {
  lines: string[];
  waiters: Waiter[];
}

const isDataError = (error: unknown) =>
  typeof (error as { code?: unknown }).code === 'string' &&
  (error as { code: string }).code.startsWith('22');

interface AppendRow {
  log_count: number;
  status: string;
  user_id: string;
  prev_status: string;
}

/**
 * One statement per job and batch, run as its own transaction:
 * - locks the job row and takes ids `log_count+1 … log_count+n` (gap-free, in commit order per job,
 *   whichever process writes);
 * - applies the batch's effects (last progress, summaries, domains) and completes the job once
 *   every keyword sent its `[SUMMARY]`;
 * - inserts the lines.
 * No row comes back for an unknown job, or one that ended more than the grace period ago.
 * A named statement (parsed and planned once per pooled connection): every lookup is by primary
 * key, so its plan cannot go stale, and planning this statement cost PostgreSQL more CPU per
 * batch than running it; it also skips TypeORM's query-runner round per batch.
 */
const APPEND = new PreparedStatement<AppendRow>(`
WITH prev AS (
  SELECT id, status, summary_count, cardinality(keywords) AS keyword_count FROM crawler_jobs
  WHERE id = $1 AND (finished_at IS NULL OR finished_at > now() - interval '${LATE_LINE_GRACE_SECONDS} seconds')
  FOR UPDATE
), calc AS (
  -- From the locked row (FOR UPDATE returns its latest committed version), never from a second
  -- read of crawler_jobs: that one would see the statement's snapshot, and two summaries committed
  -- at the same moment would each miss the other's and leave the job open.
  SELECT id,
         status IN ('queued', 'running') AS active,
         status IN ('queued', 'running') AND $5::int > 0 AND summary_count + $5::int >= keyword_count AS completing
  FROM prev
), upd AS (
  UPDATE crawler_jobs j SET
    log_count = j.log_count + $2::int,
    last_activity_at = CASE WHEN calc.active THEN now() ELSE j.last_activity_at END,
    progress = CASE WHEN calc.completing THEN 100 WHEN calc.active THEN COALESCE($4::smallint, j.progress) ELSE j.progress END,
    summary_count = CASE WHEN calc.active THEN j.summary_count + $5::int ELSE j.summary_count END,
    summaries = CASE WHEN calc.active AND $5::int > 0 THEN j.summaries || $6::jsonb ELSE j.summaries END,
    summary = CASE WHEN calc.active AND $5::int > 0 THEN $6::jsonb -> -1 ELSE j.summary END,
    domains = CASE WHEN calc.active AND $7::jsonb IS NOT NULL THEN ${DOMAIN_SET_SQL('j.domains || $7::jsonb')} ELSE j.domains END,
    status = CASE WHEN calc.completing THEN 'completed'::crawler_job_status ELSE j.status END,
    finished_at = CASE WHEN calc.completing THEN now() ELSE j.finished_at END,
    updated_at = CASE WHEN calc.active THEN now() ELSE j.updated_at END
  FROM calc, prev
  WHERE j.id = calc.id
  RETURNING j.log_count, j.status, j.user_id, prev.status AS prev_status
), ins AS (
  INSERT INTO crawler_job_logs (job_id, seq, message)
  SELECT $1, upd.log_count - $2::int + u.ord::int, u.message
  FROM upd, unnest($3::text[]) WITH ORDINALITY AS u(message, ord)
)
SELECT log_count, status, user_id, prev_status FROM upd`);

/**
 * The webhook's write path. Lines are durable in PostgreSQL before the request is answered;
 * requests that arrive while a batch is being written are grouped into the next one (group
 * commit), so one line per request still costs a fraction of a statement. After commit the batch
 * is published on the bus for live streams.
 *
 * Hot path. Per request: a UUID test, `storableLine` per line (two native scans), a push onto the
 * job's pending batch. Per batch and job: one statement, one publish. Never add a query, a Redis
 * round trip or an await per request here; a batch refused as data is retried per request only
 * then (the slow path).
 */
@Injectable()
export class CrawlerLogWriter {
  private readonly logger = new Logger(CrawlerLogWriter.name);
  private pending = new Map<string, PendingJob>();
  /** Jobs with a batch being written: their new lines wait in `pending` for the next one. */
  private readonly writing = new Set<string>();
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: CrawlerLogBus,
    private readonly crawler: CrawlerService,
    private readonly metrics: Metrics,
  ) {}

  /** Resolves once the lines are committed; rejects with 404 for an unknown (or long finished) job. */
  append(jobId: string, lines: string[]): Promise<void> {
    if (!isJobId(jobId)) return Promise.reject(new UnknownCrawlerJobError(jobId));
    const key = jobId.toLowerCase();
    return new Promise<void>((resolve, reject) => {
      let entry = this.pending.get(key);
      if (!entry) {
        entry = { lines: [], waiters: [] };
        this.pending.set(key, entry);
      }
      for (const line of lines) entry.lines.push(storableLine(line));
      entry.waiters.push({ count: lines.length, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= LOG_WRITER_MAX_IN_FLIGHT) return;
    this.scheduled = true;
    // setImmediate, not a timer: requests parsed in the same turn of the event loop join this batch at no added latency.
    setImmediate(() => {
      this.scheduled = false;
      if (this.inFlight >= LOG_WRITER_MAX_IN_FLIGHT) return;
      const batch = this.takeReady();
      if (batch.size === 0) return;
      this.inFlight++;
      void this.flush(batch).finally(() => {
        this.inFlight--;
        for (const jobId of batch.keys()) this.writing.delete(jobId);
        if (this.pending.size) this.schedule();
      });
    });
  }

  /**
   * The pending lines of every job not being written already. One batch per job in flight: a
   * second statement for the same job would only queue on its row lock (and pay its own WAL
   * flush), so lines arriving meanwhile join the job's next batch, written once this one commits.
   */
  private takeReady(): Map<string, PendingJob> {
    if (this.writing.size === 0) {
      const batch = this.pending;
      this.pending = new Map();
      for (const jobId of batch.keys()) this.writing.add(jobId);
      return batch;
    }
    const batch = new Map<string, PendingJob>();
    for (const [jobId, entry] of this.pending) {
      if (this.writing.has(jobId)) continue;
      batch.set(jobId, entry);
      this.writing.add(jobId);
    }
    for (const jobId of batch.keys()) this.pending.delete(jobId);
    return batch;
  }

  private async flush(batch: Map<string, PendingJob>): Promise<void> {
    // Sorted so two processes writing the same jobs lock their rows in the same order.
    const jobIds = [...batch.keys()].sort();
    await Promise.all(jobIds.map((jobId) => this.flushJob(jobId, batch.get(jobId)!)));
  }

  private async flushJob(jobId: string, entry: PendingJob): Promise<void> {
    // Requests are never split (one is at most MAX_LINES_PER_REQUEST lines), so each is answered
    // once its own chunk is committed.
    if (entry.lines.length > LOG_WRITER_MAX_BATCH_LINES) {
      let offset = 0;
      let chunk: PendingJob = { lines: [], waiters: [] };
      for (const waiter of entry.waiters) {
        if (chunk.lines.length + waiter.count > LOG_WRITER_MAX_BATCH_LINES) {
          await this.flushJob(jobId, chunk);
          chunk = { lines: [], waiters: [] };
        }
        chunk.lines.push(...entry.lines.slice(offset, offset + waiter.count));
        chunk.waiters.push(waiter);
        offset += waiter.count;
      }
      return this.flushJob(jobId, chunk);
    }
    try {
      await this.write(jobId, entry.lines);
      for (const waiter of entry.waiters) waiter.resolve();
    } catch (error) {
      this.metrics.m.crawlerAppendErrors.inc({
        kind:
          error instanceof UnknownCrawlerJobError
            ? 'unknown_job'
            : isDataError(error)
              ? 'refused_line'
              : 'database',
      });
      if (!isDataError(error)) {
        for (const waiter of entry.waiters) waiter.reject(error);
        return;
      }
      // Data the database refuses fails only the request that sent it, never the ones batched
      // with it (nothing of the batch was committed): each request is written on its own.
      if (entry.waiters.length > 1) return this.writeEach(jobId, entry);
      entry.waiters[0].reject(new UnstorableLineError((error as Error).message));
    }
  }

  /** The slow path after a batch was refused: one statement per request, in arrival order. */
  private async writeEach(jobId: string, entry: PendingJob): Promise<void> {
    let offset = 0;
    for (const waiter of entry.waiters) {
      const lines = entry.lines.slice(offset, offset + waiter.count);
      offset += waiter.count;
      await this.flushJob(jobId, { lines, waiters: [waiter] });
    }
  }

  private async write(jobId: string, lines: string[]): Promise<void> {
    const effects = parseLineEffects(lines);
    const summaryCount = effects.summaries.length;
    const startedAt = performance.now();
    const rows = await APPEND.run(this.dataSource, [
      jobId,
      lines.length,
      lines,
      effects.progress,
      summaryCount,
      summaryCount ? JSON.stringify(effects.summaries) : null,
      effects.domains.length ? JSON.stringify(effects.domains) : null,
    ]);
    const row = rows[0];
    if (!row) throw new UnknownCrawlerJobError(jobId);
    this.metrics.logBatchCommitted(lines.length, startedAt);
    const last = row.log_count;
    this.bus.publishLines(jobId, last - lines.length + 1, lines);
    if (row.status === 'completed' && row.prev_status !== 'completed') {
      this.logger.log(
        jobLog({ jobId, userId: row.user_id }, 'completed: every keyword sent its summary'),
      );
      this.crawler.announceEnd(jobId, row.user_id, 'completed', last);
    }
  }
}
