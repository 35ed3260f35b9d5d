import type { QuotaBucket } from '@app/config';

/** Quotas are counted in clock-hour windows (UTC): every counter resets at the top of the hour. */
export const QUOTA_WINDOW_MS = 3_600_000;
export const QUOTA_BUCKETS: QuotaBucket[] = ['crawler', 'scraper'];
