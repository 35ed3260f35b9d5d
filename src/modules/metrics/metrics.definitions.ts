/**
 * Every metric the service exports, in one table: name, help, labels, buckets. The Grafana
 * dashboard and the Prometheus alert rules in docker/ may only query names from this table
 * (test/metrics-assets.spec.ts checks it), plus prom-client's process defaults.
 *
 * Labels stay low-cardinality: route templates (never raw URLs), queue names, fixed outcome
 * words, roles. Never a job id, a user id or an email.
 */

export const METRIC_PREFIX = 'gm_';

const SECONDS_FAST = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const SECONDS_HTTP = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SECONDS_JOBS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

interface Definition {
  type: 'counter' | 'gauge' | 'histogram';
  name: string;
  help: string;
  labelNames?: readonly string[];
  buckets?: readonly number[];
}

export const METRIC_DEFINITIONS = {
  // ——— HTTP (API processes) ———
  httpRequestDuration: {
    type: 'histogram',
    name: 'gm_http_request_duration_seconds',
    help: 'HTTP request duration by method, route template ("unmatched" for 404s) and status class. SSE routes last as long as the stream.',
    labelNames: ['method', 'route', 'status_class'],
    buckets: SECONDS_HTTP,
  },

  // ——— crawler: webhook ingest ———
  crawlerLinesIngested: {
    type: 'counter',
    name: 'gm_crawler_log_lines_ingested_total',
    help: 'Log lines committed to PostgreSQL by the webhook.',
  },
  crawlerAppendBatchLines: {
    type: 'histogram',
    name: 'gm_crawler_log_append_batch_lines',
    help: 'Lines per append statement (group commit of one job).',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
  },
  crawlerAppendCommitSeconds: {
    type: 'histogram',
    name: 'gm_crawler_log_commit_seconds',
    help: 'Latency of one append statement (lock, effects, insert, commit).',
    buckets: SECONDS_FAST,
  },
  crawlerAppendErrors: {
    type: 'counter',
    name: 'gm_crawler_log_append_errors_total',
    help: 'Append statements that failed (kind: unknown_job, refused_line, database).',
    labelNames: ['kind'],
  },
  // ——— crawler: live streams ———
  crawlerStreamsOpen: {
    type: 'gauge',
    name: 'gm_crawler_log_streams_open',
    help: 'SSE log streams open on this process.',
  },
  crawlerLinesDelivered: {
    type: 'counter',
    name: 'gm_crawler_log_lines_delivered_total',
    help: 'Log lines sent to SSE viewers (history and live; one per line per viewer).',
  },
  crawlerDeliveryLag: {
    type: 'histogram',
    name: 'gm_crawler_log_delivery_lag_seconds',
    help: 'From a batch committed (any process) to it reaching a live stream on this process.',
    buckets: SECONDS_FAST,
  },
  // ——— crawler: jobs and RunPod ———
  crawlerJobsFinished: {
    type: 'counter',
    name: 'gm_crawler_jobs_finished_total',
    help: 'Crawler jobs reaching a final status (completed, failed, cancelled); counted once, by the process that ended them.',
    labelNames: ['status'],
  },
  crawlerDispatchAttempts: {
    type: 'counter',
    name: 'gm_crawler_dispatch_attempts_total',
    help: 'Dispatch attempts by outcome (dispatched, retry, failed, skipped).',
    labelNames: ['outcome'],
  },
  runpodErrors: {
    type: 'counter',
    name: 'gm_runpod_errors_total',
    help: 'RunPod requests that failed, by kind (timeout, unreachable, server_error, rate_limited, rejected, bad_answer).',
    labelNames: ['kind'],
  },

  // ——— queues (Bull) ———
  queueJobs: {
    type: 'gauge',
    name: 'gm_queue_jobs',
    help: 'Jobs per queue and state (waiting, active, delayed, failed, paused). Same value on every process: aggregate with max().',
    labelNames: ['queue', 'state'],
  },
  queueWaitingByPriority: {
    type: 'gauge',
    name: 'gm_queue_waiting_jobs_by_priority',
    help: 'Waiting jobs per queue and priority class (admin, premium, user, none). Aggregate with max().',
    labelNames: ['queue', 'priority'],
  },
  queueJobDuration: {
    type: 'histogram',
    name: 'gm_queue_job_duration_seconds',
    help: 'One attempt of a job, from start to end, by queue and outcome (completed, retry, failed).',
    labelNames: ['queue', 'outcome'],
    buckets: SECONDS_JOBS,
  },
  queueJobAttempts: {
    type: 'histogram',
    name: 'gm_queue_job_attempts',
    help: 'Attempts a job took when it ended for good, by queue and outcome (completed, failed).',
    labelNames: ['queue', 'outcome'],
    buckets: [1, 2, 3, 4, 5, 10],
  },
  queueJobsStalled: {
    type: 'counter',
    name: 'gm_queue_jobs_stalled_total',
    help: 'Jobs whose worker stopped (lock expired) that were put back to run again.',
    labelNames: ['queue'],
  },

  // ——— scraper ———
  providerRequestDuration: {
    type: 'histogram',
    name: 'gm_scraper_provider_request_seconds',
    help: 'Provider searches (Python scraper API, Google Places) by provider and outcome (ok, retryable_error, fatal_error).',
    labelNames: ['provider', 'outcome'],
    buckets: SECONDS_JOBS,
  },
  scraperCache: {
    type: 'counter',
    name: 'gm_scraper_cache_requests_total',
    help: 'Scrape requests looked up in the result cache (hit, miss); refresh=true bypasses it and is not counted.',
    labelNames: ['result'],
  },
  scraperPlaces: {
    type: 'counter',
    name: 'gm_scraper_places_total',
    help: 'Places stored for a scrape (inserted) or already stored for that user (duplicate).',
    labelNames: ['result'],
  },

  scraperBilledRequests: {
    type: 'counter',
    name: 'gm_scraper_billed_requests_total',
    help: 'Provider requests billed (recorded in the spend ledger), by provider and SKU (the tier its field mask is billed at).',
    labelNames: ['provider', 'sku'],
  },
  scraperSpendUsd: {
    type: 'counter',
    name: 'gm_scraper_spend_usd_total',
    help: 'Estimated provider spend in USD (price table × billed requests), by provider and SKU.',
    labelNames: ['provider', 'sku'],
  },

  // ——— quotas and auth ———
  quotaRejections: {
    type: 'counter',
    name: 'gm_quota_rejections_total',
    help: 'Requests refused with 429 because an hourly quota was used up, by bucket and role.',
    labelNames: ['bucket', 'role'],
  },
  loginFailures: {
    type: 'counter',
    name: 'gm_auth_login_failures_total',
    help: 'Logins refused for a wrong email or password.',
  },
  loginThrottled: {
    type: 'counter',
    name: 'gm_auth_login_throttled_total',
    help: 'Logins refused with 429 by the login throttle.',
  },
} as const satisfies Record<string, Definition>;

export type MetricKey = keyof typeof METRIC_DEFINITIONS;

/** prom-client's process defaults (unprefixed, as every Node.js dashboard expects) that the dashboard uses. */
export const DEFAULT_METRIC_NAMES = [
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'process_start_time_seconds',
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_heap_size_used_bytes',
  'nodejs_heap_size_total_bytes',
  'nodejs_gc_duration_seconds',
  'nodejs_active_handles_total',
];

/** Every name a query may use: the table (histograms with their series suffixes), the defaults, and Prometheus' own `up`. */
export function exportedMetricNames(): Set<string> {
  const names = new Set<string>(['up', ...DEFAULT_METRIC_NAMES]);
  for (const def of Object.values(METRIC_DEFINITIONS) as Definition[]) {
    names.add(def.name);
    if (def.type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(def.name + suffix);
  }
  for (const name of DEFAULT_METRIC_NAMES)
    if (name.endsWith('_gc_duration_seconds'))
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  return names;
}
