import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectRepository } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import { DataSource, Repository } from 'typeorm';
import {
  InvalidStateError,
  JOB_PRIORITY,
  jobLog,
  pageOffset,
  paginate,
  QUEUE_NAMES,
  ResourceNotFoundError,
  type AuthUser,
  type Paginated,
} from '@app/common';
import { AppConfig } from '@app/config';
import { RunpodClient, type RunpodError } from '@app/runpod';
import {
  CRAWLER_DISPATCH_JOB,
  CRAWLER_EVENTS,
  DISPATCH_ATTEMPTS,
  DISPATCH_BACKOFF,
  KEEP_COMPLETED,
  KEEP_FAILED,
  type CrawlerJobEvent,
} from './crawler.constants.js';
import {
  CancelCrawlerResponseDto,
  CrawlerJobDto,
  CrawlerJobsQueryDto,
  StartCrawlerDto,
  StartCrawlerResponseDto,
} from './dto/crawler.dto.js';
import {
  CrawlerJob,
  type CrawlerJobStatus,
  type RunpodDispatch,
} from './entities/crawler-job.entity.js';
import { CrawlerLogBus } from './log/crawler-log.bus.js';

export interface DispatchJobData {
  jobId: string;
  /** For log lines (jobs queued before it was added lack it). */
  userId?: string;
}

/** Jobs: creation, access, and every status change (each announced on the bus and as an event). */
@Injectable()
export class CrawlerService {
  private readonly logger = new Logger(CrawlerService.name);

  constructor(
    @InjectRepository(CrawlerJob) private readonly jobs: Repository<CrawlerJob>,
    @InjectQueue(QUEUE_NAMES.crawler) private readonly queue: Queue<DispatchJobData>,
    private readonly dataSource: DataSource,
    private readonly bus: CrawlerLogBus,
    private readonly events: EventEmitter2,
    private readonly runpod: RunpodClient,
    private readonly config: AppConfig,
  ) {}

  async start(dto: StartCrawlerDto, caller: AuthUser): Promise<StartCrawlerResponseDto> {
    const priority = JOB_PRIORITY[caller.role];
    const job = await this.jobs.save(
      this.jobs.create({
        userId: caller.id,
        keywords: dto.keywords,
        domainCount: dto.domain_count,
        priority,
        timeoutSeconds: Math.max(1, Math.round(this.config.crawler.jobTimeoutMs / 1000)),
      }),
    );
    try {
      await this.queue.add(
        CRAWLER_DISPATCH_JOB,
        { jobId: job.id, userId: caller.id },
        {
          jobId: job.id,
          priority,
          attempts: DISPATCH_ATTEMPTS,
          backoff: { ...DISPATCH_BACKOFF },
          removeOnComplete: { ...KEEP_COMPLETED },
          removeOnFail: { ...KEEP_FAILED },
        },
      );
    } catch (error) {
      // Not queued, so it never runs: record why instead of leaving it `queued` forever.
      await this.fail(job.id, `could not be queued: ${(error as Error).message}`);
      throw error;
    }
    this.emit(CRAWLER_EVENTS.queued, job, 'queued');
    this.logger.log(
      jobLog(
        { jobId: job.id, userId: caller.id },
        `queued: ${dto.keywords.length} keyword(s), priority ${priority}`,
      ),
    );
    return {
      job_id: job.id,
      status: 'queued',
      message: `Crawler job queued: ${dto.keywords.length} keyword(s), ${dto.domain_count} domain(s) each`,
    };
  }

  /** The job if the caller owns it or is an admin; 404 otherwise (another user's job does not exist for you). */
  async findAccessible(jobId: string, caller: AuthUser): Promise<CrawlerJob> {
    const job = UUID.test(jobId) ? await this.jobs.findOneBy({ id: jobId }) : null;
    if (!job || (job.userId !== caller.id && caller.role !== 'admin')) {
      throw new ResourceNotFoundError('Crawler job', jobId);
    }
    return job;
  }

  async status(jobId: string, caller: AuthUser): Promise<CrawlerJobDto> {
    return CrawlerJobDto.from(await this.findAccessible(jobId, caller));
  }

  async list(query: CrawlerJobsQueryDto, caller: AuthUser): Promise<Paginated<CrawlerJobDto>> {
    const where = {
      ...(caller.role === 'admin' ? {} : { userId: caller.id }),
      ...(query.status ? { status: query.status } : {}),
    };
    const [rows, total] = await this.jobs.findAndCount({
      where,
      order: { createdAt: 'DESC' },
      ...pageOffset(query),
    });
    return paginate(
      rows.map((job) => CrawlerJobDto.from(job)),
      total,
      query,
    );
  }

  async cancel(jobId: string, caller: AuthUser): Promise<CancelCrawlerResponseDto> {
    const job = await this.findAccessible(jobId, caller);
    const ended = await this.end(job.id, 'cancelled', null);
    if (!ended) {
      const current = await this.jobs.findOneBy({ id: job.id });
      throw new InvalidStateError(
        `Job ${job.id} is already ${current?.status ?? job.status}; only queued or running jobs can be cancelled`,
      );
    }
    // Queued: take it off the queue. Active: the processor sees `cancelled` and stops.
    const queued = await this.queue.getJob(job.id);
    if (queued && !(await queued.isActive())) await queued.remove().catch(() => undefined);
    // Running on serverless: ask RunPod to stop each run (pods have no cancel API).
    await Promise.all(
      Object.values(ended.runpodRuns).map(async (run) => {
        if (!run.run_id) return;
        await this.runpod.cancel(run.run_id).catch((error: Error) => {
          this.logger.warn(
            jobLog(
              { jobId: job.id, userId: job.userId },
              `RunPod cancel of run ${run.run_id} failed: ${error.message}`,
              {
                runpod_error: (error as RunpodError).kind,
              },
            ),
          );
        });
      }),
    );
    this.logger.log(jobLog({ jobId: job.id, userId: job.userId }, `cancelled by ${caller.id}`));
    return { job_id: job.id, status: 'cancelled' };
  }

  // ---- lifecycle, used by the processor and the inactivity sweep ----

  /** queued → running (or still running, on a retry). Null when the job is no longer active. */
  async beginDispatch(jobId: string): Promise<CrawlerJob | null> {
    const rows = await this.dataSource.query<
      [Array<{ id: string; prev_status: CrawlerJobStatus }>, number]
    >(
      `WITH prev AS (SELECT id, status FROM crawler_jobs WHERE id = $1 FOR UPDATE)
       UPDATE crawler_jobs j SET status = 'running', started_at = COALESCE(j.started_at, now()),
              last_activity_at = now(), updated_at = now()
       FROM prev WHERE j.id = prev.id AND j.status IN ('queued', 'running')
       RETURNING j.id, prev.status AS prev_status`,
      [jobId],
    );
    const row = rows[0][0];
    if (!row) return null;
    const job = await this.jobs.findOneByOrFail({ id: jobId });
    if (row.prev_status === 'queued') this.emit(CRAWLER_EVENTS.running, job, 'running');
    return job;
  }

  /** Records a keyword RunPod accepted; returns false if the job was cancelled meanwhile. */
  async recordDispatch(
    jobId: string,
    index: number,
    runId: string | null,
    domains: string[],
  ): Promise<boolean> {
    const run: RunpodDispatch = { run_id: runId, at: new Date().toISOString() };
    const rows = await this.dataSource.query<[Array<{ status: CrawlerJobStatus }>, number]>(
      `UPDATE crawler_jobs SET runpod_runs = runpod_runs || jsonb_build_object($2::text, $3::jsonb),
              domains = ${DOMAIN_SET_SQL('domains || $4::jsonb')},
              last_activity_at = CASE WHEN status = 'running' THEN now() ELSE last_activity_at END,
              updated_at = now()
       WHERE id = $1 RETURNING status`,
      [jobId, String(index), JSON.stringify(run), JSON.stringify(domains)],
    );
    // UPDATE through TypeORM's postgres driver answers [rows, affected].
    return rows[0]?.[0]?.status === 'running';
  }

  async fail(jobId: string, reason: string): Promise<boolean> {
    return Boolean(await this.end(jobId, 'failed', reason));
  }

  /**
   * Fails running jobs not heard from within their timeout (CRAWLER_JOB_TIMEOUT when they were
   * created). One conditional UPDATE: safe to run in every worker at once, each job fails once.
   */
  async failInactive(): Promise<number> {
    const rows = await this.dataSource.query<
      [Array<{ id: string; user_id: string; log_count: number; timeout_seconds: number }>, number]
    >(
      `UPDATE crawler_jobs SET status = 'failed', finished_at = now(), updated_at = now(),
              error = 'No activity from RunPod for ' || timeout_seconds || ' s (CRAWLER_JOB_TIMEOUT): no log line or answer arrived in time'
       WHERE status = 'running' AND last_activity_at < now() - make_interval(secs => timeout_seconds)
       RETURNING id, user_id, log_count, timeout_seconds`,
    );
    for (const row of rows[0]) {
      this.logger.warn(
        jobLog(
          { jobId: row.id, userId: row.user_id },
          `failed: no activity for ${row.timeout_seconds} s`,
        ),
      );
      this.announceEnd(row.id, row.user_id, 'failed', row.log_count, 'inactivity timeout');
    }
    return rows[0].length;
  }

  /** Moves an active job to a final state; null if it was not active. */
  private async end(
    jobId: string,
    status: 'failed' | 'cancelled',
    error: string | null,
  ): Promise<CrawlerJob | null> {
    const rows = await this.dataSource.query<
      [
        Array<{
          id: string;
          user_id: string;
          log_count: number;
          runpod_runs: Record<string, RunpodDispatch>;
        }>,
        number,
      ]
    >(
      `UPDATE crawler_jobs SET status = $2, error = $3, finished_at = now(), updated_at = now()
       WHERE id = $1 AND status IN ('queued', 'running')
       RETURNING id, user_id, log_count, runpod_runs`,
      [jobId, status, error],
    );
    const row = rows[0][0];
    if (!row) return null;
    this.announceEnd(row.id, row.user_id, status, row.log_count, error);
    return Object.assign(new CrawlerJob(), {
      id: row.id,
      userId: row.user_id,
      runpodRuns: row.runpod_runs,
    });
  }

  /** A job reached its final state: its streams end (on every process) and the app hears of it. */
  announceEnd(
    jobId: string,
    userId: string,
    status: 'completed' | 'failed' | 'cancelled',
    lastSeq: number,
    error: string | null = null,
  ): void {
    this.bus.publishEnd(jobId, status, lastSeq);
    this.events.emit(CRAWLER_EVENTS[status], {
      jobId,
      userId,
      status,
      error,
    } satisfies CrawlerJobEvent);
  }

  private emit(event: string, job: CrawlerJob, status: CrawlerJobStatus): void {
    this.events.emit(event, {
      jobId: job.id,
      userId: job.userId,
      status,
    } satisfies CrawlerJobEvent);
  }
}

/**
 * SQL for the jsonb array `expr` with each value once, in order of first appearance: a job's
 * domains are the set generated, though a pod's final answer and its [SUMMARY] both list them.
 */
export const DOMAIN_SET_SQL = (expr: string) =>
  `(SELECT COALESCE(jsonb_agg(d.value ORDER BY d.first), '[]'::jsonb) FROM (SELECT e.value, min(e.ord) AS first FROM jsonb_array_elements(${expr}) WITH ORDINALITY AS e(value, ord) GROUP BY e.value) d)`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
