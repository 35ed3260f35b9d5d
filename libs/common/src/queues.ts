/**
 * Bull queue names and priorities shared by producers, processors and the admin queue
 * operations. Bull runs lower numbers first.
 */
export const QUEUE_NAMES = { crawler: 'crawler', scraper: 'scraper' } as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

export const JOB_PRIORITY = { admin: 1, premium: 5, user: 10 } as const;
