import { getQueueToken } from '@nestjs/bull';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { Job, Queue } from 'bull';
import { JOB_PRIORITY, QUEUE_NAMES, RedisService, type QueueName } from '@app/common';
import { Metrics } from './metrics.service.js';

/**
 * How long one queue-count snapshot serves every process's scrapes. Prometheus scrapes each
 * process every 15 s; within this window the first scrape anywhere counts (8 Redis commands
 * per queue) and the rest read the one snapshot key (a GET).
 */
export const QUEUE_SNAPSHOT_TTL_MS = 5_000;

const STATES = ['waiting', 'active', 'delayed', 'failed', 'paused'] as const;
const PRIORITIES = Object.keys(JOB_PRIORITY) as Array<keyof typeof JOB_PRIORITY>;

interface QueueCounts {
  states: Record<(typeof STATES)[number], number>;
  byPriority: Record<keyof typeof JOB_PRIORITY | 'none', number>;
}
type Snapshot = Record<string, QueueCounts>;
type KeyedQueue = Queue & { keys: Record<string, string> };

/**
 * Queue metrics.
 *
 * Counts per queue and state: collected lazily when Prometheus scrapes, never on a timer, and
 * shared between processes through one Redis key with a short TTL — so N processes scraped every
 * 15 s cost Redis one count per 5 s plus N GETs, whatever N is. (Electing one reporting process
 * with a lock was the alternative: it saves the GETs but needs lease renewal and leaves no
 * series while the leader is gone.) Every process reports the same values: aggregate with max().
 *
 * Job duration, attempts and stalls: from Bull's local events, which fire only in the process
 * that ran (or recovered) the job — each attempt is counted once, by its worker.
 */
@Injectable()
export class QueueMetrics implements OnApplicationBootstrap {
  private readonly logger = new Logger(QueueMetrics.name);
  private readonly queues = new Map<QueueName, Queue>();
  private local: { at: number; snapshot: Promise<Snapshot> } | null = null;

  constructor(
    private readonly metrics: Metrics,
    private readonly modules: ModulesContainer,
    private readonly redis: RedisService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.metrics.enabled) return;
    for (const name of Object.values(QUEUE_NAMES)) {
      // Several modules register the same queue (feature, admin), each its own Queue instance;
      // Bull's local events fire on the one that ran the job, so every instance is observed.
      const instances = queueInstances(this.modules, name);
      this.queues.set(name, instances[0]);
      for (const queue of instances) this.observeJobs(name, queue);
    }
    const { queueJobs, queueWaitingByPriority } = this.metrics.m;
    (queueJobs as unknown as { collect: () => Promise<void> }).collect = async () => {
      const snapshot = await this.snapshot().catch(this.unavailable);
      for (const [queue, counts] of Object.entries(snapshot))
        for (const state of STATES) queueJobs.set({ queue, state }, counts.states[state]);
    };
    (queueWaitingByPriority as unknown as { collect: () => Promise<void> }).collect = async () => {
      const snapshot = await this.snapshot().catch(this.unavailable);
      for (const [queue, counts] of Object.entries(snapshot))
        for (const [priority, value] of Object.entries(counts.byPriority))
          queueWaitingByPriority.set({ queue, priority }, value);
    };
  }

  /** Redis down: the scrape still answers (process and HTTP metrics matter most then), queue gauges keep their last values. */
  private readonly unavailable = (error: Error): Snapshot => {
    this.logger.warn(`queue counts unavailable: ${error.message}`);
    return {};
  };

  private observeJobs(name: QueueName, queue: Queue): void {
    const { queueJobDuration, queueJobAttempts, queueJobsStalled } = this.metrics.m;
    const completed = queueJobDuration.labels({ queue: name, outcome: 'completed' });
    const retried = queueJobDuration.labels({ queue: name, outcome: 'retry' });
    const failed = queueJobDuration.labels({ queue: name, outcome: 'failed' });
    const attemptsCompleted = queueJobAttempts.labels({ queue: name, outcome: 'completed' });
    const attemptsFailed = queueJobAttempts.labels({ queue: name, outcome: 'failed' });
    const stalled = queueJobsStalled.labels({ queue: name });
    const seconds = (job: Job) =>
      Math.max(0, Date.now() - (job.processedOn ?? job.timestamp)) / 1000;

    queue.on('completed', (job: Job) => {
      completed.observe(seconds(job));
      attemptsCompleted.observe(job.attemptsMade + 1);
    });
    queue.on('failed', (job: Job) => {
      const discarded = (job as Job & { isDiscarded(): boolean }).isDiscarded();
      const final = discarded || job.attemptsMade >= (job.opts.attempts ?? 1);
      (final ? failed : retried).observe(seconds(job));
      if (final) attemptsFailed.observe(job.attemptsMade);
    });
    queue.on('stalled', () => stalled.inc());
  }

  /** One snapshot per TTL: this process's, else the one another process stored, else counted now. */
  private snapshot(): Promise<Snapshot> {
    if (this.local && Date.now() - this.local.at < QUEUE_SNAPSHOT_TTL_MS)
      return this.local.snapshot;
    const snapshot = this.sharedSnapshot();
    this.local = { at: Date.now(), snapshot };
    snapshot.catch(() => (this.local = null));
    return snapshot;
  }

  private async sharedSnapshot(): Promise<Snapshot> {
    const key = this.redis.key('metrics', 'queue-counts');
    const stored = await this.redis.client.get(key);
    if (stored) return JSON.parse(stored) as Snapshot;
    const snapshot: Snapshot = {};
    await Promise.all(
      [...this.queues].map(async ([name, queue]) => {
        snapshot[name] = await this.count(queue as KeyedQueue);
      }),
    );
    await this.redis.client
      .set(key, JSON.stringify(snapshot), 'PX', QUEUE_SNAPSHOT_TTL_MS)
      .catch((error: Error) => this.logger.warn(`queue snapshot not shared: ${error.message}`));
    return snapshot;
  }

  private async count(queue: KeyedQueue): Promise<QueueCounts> {
    const client = queue.client;
    const [counts, ...priorities] = await Promise.all([
      queue.getJobCounts() as Promise<unknown> as Promise<Record<string, number>>,
      ...PRIORITIES.map((p) =>
        client.zcount(queue.keys.priority, JOB_PRIORITY[p], JOB_PRIORITY[p]),
      ),
    ]);
    const states = Object.fromEntries(
      STATES.map((s) => [s, counts[s] ?? 0]),
    ) as QueueCounts['states'];
    const byPriority = Object.fromEntries(
      PRIORITIES.map((p, i) => [p, priorities[i]]),
    ) as QueueCounts['byPriority'];
    const waiting = states.waiting + states.paused;
    byPriority.none = Math.max(0, waiting - priorities.reduce((a, b) => a + b, 0));
    return { states, byPriority };
  }
}

/** Every distinct Queue instance registered under `name`, in any module. */
export function queueInstances(modules: ModulesContainer, name: string): Queue[] {
  const token = getQueueToken(name);
  const found = new Set<Queue>();
  for (const module of modules.values()) {
    const instance = module.providers.get(token)?.instance as Queue | undefined;
    if (instance) found.add(instance);
  }
  return [...found];
}
