import type { JobOptions } from 'bull';
import { JOB_PRIORITY, QUEUE_NAMES } from '@app/common';
import type { ProviderName, UserRole } from '@app/config';
import type { Bounds, GeoPolygon } from '@app/google-maps';

/** The Bull queue and its one job type. */
export const SCRAPER_QUEUE = QUEUE_NAMES.scraper;
export const SCRAPE_JOB = 'scrape';

/** `--tries=3` of the old worker: the first run and two retries. */
export const SCRAPER_ATTEMPTS = 3;
/** Retry delays double: SCRAPER_BACKOFF_MS, then twice that. */
export const SCRAPER_BACKOFF_TYPE = 'exponential';
/** `--timeout=600`: default per-attempt limit (SCRAPER_JOB_TIMEOUT overrides it). */
export const SCRAPER_DEFAULT_TIMEOUT_MS = 600_000;
/**
 * A job whose worker died is put back to waiting at most this many times (each recovery
 * is not an attempt); beyond, it fails as "stalled more than allowable limit".
 */
export const SCRAPER_MAX_STALLED_COUNT = 2;

/** Admins' jobs first (Bull runs lower numbers first): the old `--queue=high,default`. */
export const SCRAPER_PRIORITY: Record<UserRole, number> = {
  admin: JOB_PRIORITY.admin,
  premium: JOB_PRIORITY.premium,
  user: JOB_PRIORITY.user,
};

/** Finished jobs kept in Redis for Bull Board and the admin's failed list. */
export const SCRAPER_KEEP_COMPLETED: JobOptions['removeOnComplete'] = {
  age: 24 * 3600,
  count: 1000,
};
export const SCRAPER_KEEP_FAILED: JobOptions['removeOnFail'] = { age: 7 * 24 * 3600, count: 5000 };

/** Progress milestones reported by the processor. */
export const SCRAPE_PROGRESS = { started: 10, fetched: 60, stored: 90, done: 100 } as const;

/** Redis pub/sub channel of a job's events: `<prefix>:scraper:events:<job id>`. */
export const SCRAPER_EVENTS_CHANNEL = 'scraper:events';
/** A `: keepalive` comment on quiet event streams at least this often. */
export const SSE_KEEPALIVE_MS = 15_000;
/** Cache keys: `<prefix>:cache` namespace (Keyv), then this. Bump the version when the cached shape changes. */
export const SCRAPER_CACHE_KEY_PREFIX = 'scraper:v1';

/**
 * Single flight (`scraper-flight.service.ts`): `<prefix>:scraper:flight:<hash of the cache key>`
 * is the lease of the one job calling the provider for a query, and the channel its followers
 * hear `done` on; `…:result:<token>` holds what it found for them.
 */
export const SCRAPER_FLIGHT_KEY = 'scraper:flight';
/** A leader's result is kept at least this long (2 × the lease when that is longer) for followers to read. */
export const SCRAPER_FLIGHT_RESULT_MIN_TTL_MS = 60_000;
/** A follower looks at the lease again this long after it should have expired. */
export const SCRAPER_FLIGHT_WAIT_SLACK_MS = 50;

/** `max_results` of a query search when the request leaves it out. */
export const DEFAULT_MAX_RESULTS = 20;

/** At most this many areas (kecamatan) in one request: one job each, grouped in a batch. */
export const MAX_BATCH_AREAS = 50;

/**
 * The scraper quota units a job request takes: one per area of a batch, else one. Read from
 * the raw body (the guard runs before validation); a list validation will refuse counts as
 * one, so the caller gets its 422, not a 429.
 */
export function scraperQuotaUnits(body: unknown): number {
  const areas = (body as { kecamatan?: unknown } | null)?.kecamatan;
  return Array.isArray(areas) && areas.length >= 1 && areas.length <= MAX_BATCH_AREAS
    ? areas.length
    : 1;
}

/**
 * Area coverage: `<prefix>:scraper:cell:v1:<sha256 of the keyword>:<z>/<x>/<y>[:<clip>]` holds a
 * searched cell's places (cache TTL); `<prefix>:scraper:area:v1:<sha256 of location|kecamatan>` a
 * kecamatan's viewport (SCRAPER_AREA_VIEWPORT_TTL_HOURS).
 */
export const AREA_CELL_KEY = 'scraper:cell:v1';
export const AREA_VIEWPORT_KEY = 'scraper:area:v1';
/** Ancestor cells looked up for a cell (a finer search reusing a coarser one that was not full). */
export const AREA_ANCESTOR_LOOKUP = 16;
/** Area progress is written and published at most this often (and once at the end). */
export const AREA_PROGRESS_INTERVAL_MS = 250;

/** DI token of the Google Places client that area coverage searches with (null: not configured). */
export const AREA_SEARCH_CLIENT = Symbol('AREA_SEARCH_CLIENT');

/** What a Bull scrape job carries: the row id and the query (also shown in Bull Board). */
export interface ScrapeJobData {
  jobId: string;
  userId: string;
  keyword: string;
  location: string;
  kecamatan: string | null;
  maxResults: number;
  cacheKey: string;
  /** `refresh: true` asked: the worker must not answer from the cache (absent on jobs queued before it was carried). */
  refresh?: boolean;
  /** The provider routed to for the user's role, `cacheKey` is its key (absent on jobs queued before routing: SCRAPER_PROVIDER). */
  provider?: ProviderName;
  /** `coverage: "area"` (absent: one query, as before). */
  coverage?: 'area';
  /** The area when given explicitly; absent: the kecamatan within the location, resolved by the worker. */
  area?: AreaSpec;
  /** When the job was created (epoch ms): a refresh takes no cached cell older than it. */
  requestedAt?: number;
}

/** An area given in the request: a rectangle, or a polygon (with its bounding rectangle). */
export interface AreaSpec {
  bounds: Bounds;
  polygon?: GeoPolygon;
}

/**
 * The id of a job's `end` event. A browser EventSource reconnects after the stream closes, sending
 * it as Last-Event-ID: a finished job then answers 204, which stops the browser.
 */
export const SCRAPER_END_EVENT_ID = 'end';
