import type { ScrapeResult, ScraperJobStatus } from './entities/scraper-job.entity.js';

export const SCRAPER_BATCH_STATUSES = [
  'queued',
  'processing',
  'completed',
  'partially_failed',
  'failed',
] as const;
export type ScraperBatchStatus = (typeof SCRAPER_BATCH_STATUSES)[number];

/** What the aggregate needs of each job (a row, or the snapshot an event carries). */
export interface BatchJobState {
  status: ScraperJobStatus;
  progress: number;
  result: ScrapeResult | null;
}

export interface BatchProgress {
  status: ScraperBatchStatus;
  progress: number;
  areas: number;
  jobs_by_status: Record<ScraperJobStatus, number>;
  places: { found: number; new: number; duplicates: number };
}

/**
 * A batch's aggregate, from its jobs' states: pure, so the GET answer (from rows) and the
 * events stream (from the snapshots it holds in memory — no query per event) agree.
 */
export function batchProgress(jobs: Iterable<BatchJobState>): BatchProgress {
  const byStatus: Record<ScraperJobStatus, number> = {
    queued: 0,
    processing: 0,
    completed: 0,
    failed: 0,
  };
  const places = { found: 0, new: 0, duplicates: 0 };
  let areas = 0;
  let progress = 0;
  for (const job of jobs) {
    areas++;
    byStatus[job.status]++;
    // A failed job is over: it counts as done for the batch's progress.
    progress += job.status === 'failed' ? 100 : job.progress;
    if (job.result) {
      places.found += job.result.total;
      places.new += job.result.inserted;
      places.duplicates += job.result.duplicates;
    }
  }
  const open = byStatus.queued + byStatus.processing;
  const status: ScraperBatchStatus = open
    ? byStatus.queued === areas
      ? 'queued'
      : 'processing'
    : byStatus.failed === 0
      ? 'completed'
      : byStatus.completed === 0
        ? 'failed'
        : 'partially_failed';
  return {
    status,
    progress: areas ? Math.floor(progress / areas) : 0,
    areas,
    jobs_by_status: byStatus,
    places,
  };
}

export const FINAL_BATCH_STATUSES: ReadonlySet<ScraperBatchStatus> = new Set([
  'completed',
  'partially_failed',
  'failed',
]);
