/** The crawler queue, its job and every tunable of the module, in one table. */
export { QUEUE_NAMES, JOB_PRIORITY } from '@app/common';

/** Bull job name: dispatch one crawler job's keywords to RunPod. */
export const CRAWLER_DISPATCH_JOB = 'dispatch';

/** RunPod unreachable / timing out / 5xx: retried this many times in all, backing off exponentially. */
export const DISPATCH_ATTEMPTS = 3;
export const DISPATCH_BACKOFF = { type: 'exponential', delay: 1_000 } as const;
/**
 * Recording a dispatch's final failure is retried this many times, waiting 1, 2, 3… × the delay
 * (about a minute in all): it fails when PostgreSQL is down, and the job must not stay `queued`.
 */
export const FAILURE_RECORD_ATTEMPTS = 10;
export const FAILURE_RECORD_RETRY_MS = 1_000;
/** Finished Bull jobs kept for the admin queue views. */
export const KEEP_COMPLETED = { age: 24 * 3600, count: 1_000 } as const;
export const KEEP_FAILED = { age: 7 * 24 * 3600, count: 5_000 } as const;

/** Lines that come after the job ended (a worker's last `[SUCCESS]` after its `[SUMMARY]`) are still stored for this long. */
export const LATE_LINE_GRACE_SECONDS = 300;

/** Webhook limits. */
export const MAX_LINES_PER_REQUEST = 500;
export const MAX_LINE_LENGTH = 16_384;

/**
 * Group commit: at most this many batches in flight per process, and one per job (see
 * CrawlerLogWriter.takeReady); lines arriving meanwhile wait for the next batch.
 */
export const LOG_WRITER_MAX_IN_FLIGHT = 2;
/** A batch larger than this is split into several statements. */
export const LOG_WRITER_MAX_BATCH_LINES = 5_000;

/** SSE */
export const SSE_KEEPALIVE_MS = 15_000;
/** History is replayed in pages of this many lines, each written only once the client's socket has drained. */
export const SSE_REPLAY_PAGE = 200;
/** Socket bytes buffered for a client above which replay waits. */
export const SSE_REPLAY_HIGH_WATER_BYTES = 256 * 1024;
/**
 * Live lines queued for a client that does not read them, before Nest drops the connection
 * (the client's EventSource reconnects with Last-Event-ID and resumes from PostgreSQL).
 */
export const SSE_MAX_PENDING_CHARS = 4 * 1024 * 1024;
/** Live lines buffered per stream while it catches up from PostgreSQL; past this it re-reads instead. */
/**
 * A live batch that arrives ahead of the one before it (two processes committed consecutive ids
 * and their publishes crossed) is held this long for the missing batch before the stream reads
 * the gap from PostgreSQL: crossings resolve in well under a millisecond, a read costs every
 * viewer a query.
 */
export const SSE_REORDER_GRACE_MS = 5;
export const SSE_LIVE_BUFFER_LINES = 10_000;

/** The inactivity sweep runs at a quarter of CRAWLER_JOB_TIMEOUT, within these bounds. */
export const TIMEOUT_SWEEP_MIN_MS = 250;
export const TIMEOUT_SWEEP_MAX_MS = 15_000;

/** Events emitted on EventEmitter2 for the rest of the app. */
export const CRAWLER_EVENTS = {
  queued: 'crawler.job.queued',
  running: 'crawler.job.running',
  completed: 'crawler.job.completed',
  failed: 'crawler.job.failed',
  cancelled: 'crawler.job.cancelled',
} as const;

export interface CrawlerJobEvent {
  jobId: string;
  userId: string;
  status: string;
  error?: string | null;
}

/** Redis channel parts (joined with RedisService.key): one channel per job. */
export const LOG_CHANNEL = (jobId: string) => ['crawler', 'log', jobId] as const;
