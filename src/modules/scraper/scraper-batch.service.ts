import { Injectable, Logger, type MessageEvent } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Observable } from 'rxjs';
import { In, Repository } from 'typeorm';
import {
  jobLog,
  pageOffset,
  paginate,
  ResourceNotFoundError,
  type AuthUser,
  type Paginated,
  type PageQueryDto,
} from '@app/common';
import {
  BatchProgressDto,
  ScraperBatchDto,
  ScraperBatchSummaryDto,
  type ScrapeBatchAcceptedDto,
} from './dto/scraper-batch.dto.js';
import { ScraperJobDto } from './dto/scraper.dto.js';
import { ScraperBatch } from './entities/scraper-batch.entity.js';
import { ScraperJob } from './entities/scraper-job.entity.js';
import { batchProgress } from './scraper-batch.progress.js';
import { ScraperEventsService, type ScrapeJobSnapshot } from './scraper-events.service.js';
import { ScraperService, type ScrapeRequest } from './scraper.service.js';

/** Jobs created at once for a batch: enough to overlap the round trips, few enough to leave the pool to others. */
const CREATE_CONCURRENCY = 8;

/**
 * Several areas in one request: a batch row, then one job per area created exactly as a
 * single-area request creates it (cache first, else queued). The quota was taken for every
 * area at once by the guard (all or nothing) before this runs.
 */
@Injectable()
export class ScraperBatchService {
  private readonly logger = new Logger(ScraperBatchService.name);

  constructor(
    @InjectRepository(ScraperBatch) private readonly batches: Repository<ScraperBatch>,
    @InjectRepository(ScraperJob) private readonly jobs: Repository<ScraperJob>,
    private readonly scraper: ScraperService,
    private readonly jobEvents: ScraperEventsService,
  ) {}

  async create(
    user: AuthUser,
    dto: Omit<ScrapeRequest, 'kecamatan'>,
    areas: string[],
  ): Promise<ScrapeBatchAcceptedDto> {
    // 402 before anything is stored or queued when the month cannot pay for every area.
    await this.scraper.admit(user, { ...dto, kecamatan: areas });
    const batch = await this.batches.save(
      this.batches.create({
        userId: user.id,
        keyword: dto.keyword,
        location: dto.location,
        maxResults: this.scraper.maxResultsOf(dto),
        areas: areas.length,
      }),
    );
    const answers: Array<Awaited<ReturnType<ScraperService['create']>>> = new Array(areas.length);
    let next = 0;
    let failure: Error | undefined;
    // Every area is tried even after one fails (Redis down): each failed one is marked failed
    // by ScraperService.create, and the batch shows it; the caller gets the error.
    const worker = async () => {
      while (next < areas.length) {
        const index = next++;
        try {
          answers[index] = await this.scraper.create(
            user,
            { ...dto, kecamatan: areas[index] },
            batch.id,
          );
        } catch (error) {
          failure ??= error instanceof Error ? error : new Error(String(error));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CREATE_CONCURRENCY, areas.length) }, worker));
    if (failure) throw failure;

    const jobs = answers.map((answer, index) => ({
      job_id: answer.job_id,
      kecamatan: areas[index],
      status: answer.status,
      cached: answer.status === 'completed',
      result: answer.status === 'completed' ? answer.result : null,
    }));
    const cached = jobs.filter((job) => job.cached).length;
    this.logger.log(
      jobLog(
        { jobId: batch.id, userId: user.id },
        `batch of ${areas.length} areas: ${cached} from the cache, ${areas.length - cached} queued`,
      ),
    );
    const { status } = batchProgress(
      jobs.map((job) => ({
        status: job.status,
        progress: job.cached ? 100 : 0,
        result: job.result,
      })),
    );
    return { batch_id: batch.id, status, jobs };
  }

  /** The caller's batch (any, for an admin); 404 otherwise. */
  async findBatch(user: AuthUser, id: string): Promise<ScraperBatch> {
    const batch = await this.batches.findOneBy(
      user.role === 'admin' ? { id } : { id, userId: user.id },
    );
    if (!batch) throw new ResourceNotFoundError('Scraper batch', id);
    return batch;
  }

  async findOne(user: AuthUser, id: string): Promise<ScraperBatchDto> {
    const batch = await this.findBatch(user, id);
    const jobs = await this.jobs.find({
      where: { batchId: batch.id },
      order: { kecamatan: 'ASC', id: 'ASC' },
    });
    return {
      ...BatchProgressDto.from(batch.id, batchProgress(jobs)),
      ...this.summaryFields(batch),
      jobs: jobs.map((job) => ScraperJobDto.from(job)),
    };
  }

  /** The caller's batches, newest first (admins: everyone's), each with its aggregate. */
  async list(user: AuthUser, query: PageQueryDto): Promise<Paginated<ScraperBatchSummaryDto>> {
    const { skip, take } = pageOffset(query);
    const [batches, total] = await this.batches.findAndCount({
      where: user.role === 'admin' ? {} : { userId: user.id },
      order: { createdAt: 'DESC', id: 'DESC' },
      skip,
      take,
    });
    // One query for the jobs of the whole page.
    const jobs = batches.length
      ? await this.jobs.find({
          where: { batchId: In(batches.map((batch) => batch.id)) },
          select: { batchId: true, status: true, progress: true, result: true },
        })
      : [];
    return paginate(
      batches.map((batch) => ({
        ...BatchProgressDto.from(
          batch.id,
          batchProgress(jobs.filter((job) => job.batchId === batch.id)),
        ),
        ...this.summaryFields(batch),
      })),
      total,
      query,
    );
  }

  /** The batch's one SSE stream (access is checked by ScraperBatchAccessGuard before it opens). */
  events(batchId: string): Observable<MessageEvent> {
    return this.jobEvents.batchStream(batchId, async () => {
      const rows = await this.jobs.find({
        where: { batchId },
        select: {
          id: true,
          status: true,
          progress: true,
          attemptsMade: true,
          error: true,
          result: true,
        },
      });
      return rows.map((row): ScrapeJobSnapshot => ({
        job_id: row.id,
        status: row.status,
        progress: row.progress,
        attempts_made: row.attemptsMade,
        error: row.error,
        result: row.result,
      }));
    });
  }

  private summaryFields(batch: ScraperBatch) {
    return {
      keyword: batch.keyword,
      location: batch.location,
      max_results: batch.maxResults,
      created_at: batch.createdAt.toISOString(),
    };
  }
}
