import { QUEUE_NAMES, type QueueName } from '@app/common';

/** Every queue the admin operations and Bull Board show. */
export const ADMIN_QUEUES: readonly QueueName[] = [QUEUE_NAMES.crawler, QUEUE_NAMES.scraper];

/** Bull Board's mount point, outside the /api prefix. */
export const BULL_BOARD_PATH = '/admin/queues';
/** Cookie that carries the admin's token to Bull Board's own XHR calls after a `?access_token=` visit. */
export const BULL_BOARD_COOKIE = 'gm_bull_board';

/** Failed jobs retried per round trip by "retry all". */
export const RETRY_BATCH = 200;
/** Window of the cache hit rate in the stats. */
export const STATS_CACHE_WINDOW_HOURS = 24;
