/**
 * In-process events (EventEmitter2) about queue jobs changed by admin operations, so the
 * feature owning a queue can bring its job rows up to date without the admin module
 * knowing about them. Payload: `QueueJobsRetriedEvent`.
 */
export const QUEUE_EVENTS = {
  /** `queue.<name>.retried` */
  retried: (queue: string) => `queue.${queue}.retried`,
} as const;

export interface QueueJobsRetriedEvent {
  queue: string;
  jobIds: string[];
}
