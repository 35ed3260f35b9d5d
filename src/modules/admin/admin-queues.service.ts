import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Job, Queue } from 'bull';
import {
  InvalidStateError,
  JOB_PRIORITY,
  paginate,
  pageOffset,
  QUEUE_NAMES,
  ResourceNotFoundError,
  type PageQueryDto,
  type Paginated,
  type QueueName,
  QUEUE_EVENTS,
  type QueueJobsRetriedEvent,
} from '@app/common';
import { RETRY_BATCH } from './admin.constants.js';
import type {
  FailedJobDto,
  QueueSummaryDto,
  RemovedDto,
  RetriedDto,
  RetriedJobDto,
} from './dto/admin.dto.js';

/** Bull keeps prioritised job ids in a sorted set scored by priority. */
type KeyedQueue = Queue & { keys: Record<string, string> };

/** The Laravel `queue:failed / queue:retry / queue:flush` of this stack, for every queue by name. */
@Injectable()
export class AdminQueuesService {
  private readonly queues: Record<QueueName, Queue>;

  constructor(
    @InjectQueue(QUEUE_NAMES.crawler) crawler: Queue,
    @InjectQueue(QUEUE_NAMES.scraper) scraper: Queue,
    private readonly events: EventEmitter2,
  ) {
    this.queues = { crawler, scraper };
  }

  async overview(): Promise<QueueSummaryDto[]> {
    return Promise.all((Object.keys(this.queues) as QueueName[]).map((name) => this.summary(name)));
  }

  async summary(name: string): Promise<QueueSummaryDto> {
    const queue = this.queue(name) as KeyedQueue;
    const priorityKey = queue.keys.priority;
    const client = queue.client;
    const [counts, isPaused, admin, premium, user] = await Promise.all([
      queue.getJobCounts() as Promise<unknown> as Promise<Record<string, number>>,
      queue.isPaused(),
      client.zcount(priorityKey, JOB_PRIORITY.admin, JOB_PRIORITY.admin),
      client.zcount(priorityKey, JOB_PRIORITY.premium, JOB_PRIORITY.premium),
      client.zcount(priorityKey, JOB_PRIORITY.user, JOB_PRIORITY.user),
    ]);
    const waiting = (counts.waiting ?? 0) + (counts.paused ?? 0);
    return {
      name: name as QueueName,
      is_paused: isPaused,
      counts: {
        waiting: counts.waiting ?? 0,
        active: counts.active ?? 0,
        completed: counts.completed ?? 0,
        failed: counts.failed ?? 0,
        delayed: counts.delayed ?? 0,
        paused: counts.paused ?? 0,
      },
      waiting_by_priority: {
        admin,
        premium,
        user,
        none: Math.max(0, waiting - admin - premium - user),
      },
    };
  }

  async failed(name: string, page: PageQueryDto): Promise<Paginated<FailedJobDto>> {
    const queue = this.queue(name);
    const { skip, take } = pageOffset(page);
    const [jobs, total] = await Promise.all([
      queue.getFailed(skip, skip + take - 1),
      queue.getFailedCount(),
    ]);
    return paginate(jobs.filter(Boolean).map(toFailedDto), total, page);
  }

  async retry(name: string, jobId: string): Promise<RetriedJobDto> {
    const job = await this.queue(name).getJob(jobId);
    if (!job) throw new ResourceNotFoundError(`Job in queue ${name}`, jobId);
    if (!(await job.isFailed())) {
      throw new InvalidStateError(
        `Job ${jobId} is ${await job.getState()}, not failed: only failed jobs can be retried`,
      );
    }
    await retryWithFullAttempts(job);
    this.retried(name, [String(job.id)]);
    return { queue: name, job_id: String(job.id), status: 'waiting' };
  }

  async retryAll(name: string): Promise<RetriedDto> {
    const queue = this.queue(name);
    // Retrying takes a job out of the failed set, so the first page is read until empty;
    // the bound stops a queue whose retries keep failing instantly from looping forever.
    const bound = await queue.getFailedCount();
    let retried = 0;
    while (retried < bound) {
      const jobs = (await queue.getFailed(0, Math.min(RETRY_BATCH, bound - retried) - 1)).filter(
        Boolean,
      );
      if (!jobs.length) break;
      const ids: string[] = [];
      for (const job of jobs) {
        try {
          await retryWithFullAttempts(job);
          ids.push(String(job.id));
        } catch {
          // already retried by someone else, or removed meanwhile
        }
      }
      retried += jobs.length;
      this.retried(name, ids);
    }
    return { queue: name, retried: Math.min(retried, bound) };
  }

  async removeFailed(name: string): Promise<RemovedDto> {
    const removed = await this.queue(name).clean(0, 'failed');
    return { queue: name, removed: removed.length };
  }

  async pause(name: string): Promise<QueueSummaryDto> {
    await this.queue(name).pause();
    return this.summary(name);
  }

  async resume(name: string): Promise<QueueSummaryDto> {
    await this.queue(name).resume();
    return this.summary(name);
  }

  private queue(name: string): Queue {
    if (!Object.hasOwn(this.queues, name)) throw new ResourceNotFoundError('Queue', name);
    return this.queues[name as QueueName];
  }

  private retried(queue: string, jobIds: string[]): void {
    if (!jobIds.length) return;
    const event: QueueJobsRetriedEvent = { queue, jobIds };
    this.events.emit(QUEUE_EVENTS.retried(queue), event);
  }
}

/**
 * Bull's `retry()` keeps `attemptsMade`, so a failed job would get one attempt more and no
 * backoff retries. Like Laravel's `queue:retry`, a retried job starts over with all its
 * attempts: the count is reset in the job's hash before it goes back to waiting (a failed
 * job holds no lock, so no worker is touching it).
 */
async function retryWithFullAttempts(job: Job): Promise<void> {
  await job.queue.client.hset(job.queue.toKey(String(job.id)), 'attemptsMade', 0);
  job.attemptsMade = 0;
  await job.retry();
}

function toFailedDto(job: Job): FailedJobDto {
  return {
    id: String(job.id),
    name: job.name,
    data: job.data as unknown,
    failed_reason: job.failedReason ?? null,
    stacktrace: job.stacktrace?.at(-1) ?? null,
    attempts_made: job.attemptsMade,
    created_at: new Date(job.timestamp).toISOString(),
    finished_at: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
  };
}
