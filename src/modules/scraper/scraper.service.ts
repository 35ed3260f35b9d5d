import { InjectQueue } from '@nestjs/bull';
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import {
  Inject,
  Injectable,
  Logger,
  UnprocessableEntityException,
  type MessageEvent,
} from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import type { Cache } from 'cache-manager';
import { createHash, randomUUID } from 'node:crypto';
import type { Observable } from 'rxjs';
import { DataSource, Repository } from 'typeorm';
import {
  jobLog,
  pageOffset,
  paginate,
  ResourceNotFoundError,
  type AuthUser,
  type Paginated,
  PreparedStatement,
  QUEUE_EVENTS,
  type QueueJobsRetriedEvent,
} from '@app/common';
import { AppConfig, type ProviderName } from '@app/config';
import type { Place } from '@app/google-maps';
import { Metrics } from '../metrics/metrics.service.js';
import { PlacesService, type StoreResult } from '../places/places.service.js';
import { BudgetDto } from '../spend/dto/spend.dto.js';
import type {
  CreateScrapeJobDto,
  ListScraperJobsQueryDto,
  ScrapeJobAcceptedDto,
  ScrapeJobCachedDto,
} from './dto/scraper.dto.js';
import { JobCostDto, ScrapeEstimateDto, ScraperJobDto, BoundsDto } from './dto/scraper.dto.js';
import { AreaCoverageService } from './area/area-coverage.service.js';
import { ScraperJob, type ScrapeResult } from './entities/scraper-job.entity.js';
import {
  ScrapeCostService,
  sumEstimates,
  type ScrapeAreaRequest,
  type ScrapeEstimate,
} from './scrape-cost.service.js';
import { ScraperEventsService, type ScrapeJobSnapshot } from './scraper-events.service.js';
import { ScraperProviders } from './scraper-providers.service.js';
import {
  SCRAPE_JOB,
  SCRAPE_PROGRESS,
  DEFAULT_MAX_RESULTS,
  SCRAPER_ATTEMPTS,
  SCRAPER_BACKOFF_TYPE,
  SCRAPER_KEEP_COMPLETED,
  SCRAPER_KEEP_FAILED,
  SCRAPER_PRIORITY,
  SCRAPER_QUEUE,
  type AreaSpec,
  type ScrapeJobData,
} from './scraper.constants.js';

/** What the cache holds for a query. */
export interface CachedScrape {
  /** The max_results asked when it was scraped: a later, larger request is a miss. */
  maxResults: number;
  places: Place[];
  scrapedAt: string;
}

const SNAPSHOT_COLUMNS = 'id AS job_id, status, progress, attempts_made, error, result';

/** The row of a job answered from the cache: completed as it is created. */
const INSERT_CACHED_JOB = new PreparedStatement(`
  INSERT INTO scraper_jobs (id, user_id, keyword, location, kecamatan, max_results, cache_key, status, priority,
                            progress, attempts_made, cached, refresh, result, started_at, finished_at,
                            batch_id, provider)
  VALUES ($1, $2, $3, $4, $5, $6, $7, 'completed', $8, 100, 0, true, false, $9::jsonb, now(), now(), $10, $11)`);

/** One job's question: the body of a single-area request (a batch asks one per area). */
export type ScrapeRequest = ScrapeAreaRequest;

@Injectable()
export class ScraperService {
  private readonly logger = new Logger(ScraperService.name);

  constructor(
    @InjectRepository(ScraperJob) private readonly jobs: Repository<ScraperJob>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectQueue(SCRAPER_QUEUE) private readonly queue: Queue<ScrapeJobData>,
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    private readonly places: PlacesService,
    private readonly jobEvents: ScraperEventsService,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    private readonly costs: ScrapeCostService,
    private readonly providers: ScraperProviders,
    private readonly area: AreaCoverageService,
  ) {}

  /**
   * A cache hit answers at once (no provider call, no queue job) and still stores the
   * places for this user and records a completed job row. A miss records a queued row
   * and enqueues it; the answer never waits for the scrape. The job goes to the provider
   * routed to for the user's role, and the cache looked at is that provider's.
   */
  async create(
    user: AuthUser,
    dto: ScrapeRequest,
    batchId: string | null = null,
  ): Promise<ScrapeJobAcceptedDto | ScrapeJobCachedDto> {
    const kecamatan = dto.kecamatan?.trim() || null;
    if (dto.coverage !== 'area' && (dto.bounds || dto.polygon))
      throw new UnprocessableEntityException(['bounds and polygon need coverage "area"']);
    const provider = this.providers.primaryFor(user.role);
    const area = dto.coverage === 'area' ? this.areaJob(dto, provider) : undefined;
    const maxResults = this.maxResultsOf(dto);
    const cacheKey =
      this.providers.cacheKey(dto.keyword, dto.location, kecamatan, provider) +
      (area?.suffix ?? '');
    const query = {
      keyword: dto.keyword,
      location: dto.location,
      kecamatan,
      maxResults,
      cacheKey,
    };

    // Area jobs always run in the worker: their cells are cached one by one (a repeat costs no request).
    if (!dto.refresh && !area) {
      const hit = await this.cachedPlaces(cacheKey, maxResults);
      this.metrics.m.scraperCache.inc({ result: hit ? 'hit' : 'miss' });
      if (hit) return this.completeFromCache(user, query, hit, batchId, provider);
    }
    // 402 before anything is stored or queued when the month's budget cannot pay for it.
    await this.costs.admit(
      user.id,
      await this.costs.estimate({ ...dto, max_results: maxResults }, false, provider),
    );

    const priority = SCRAPER_PRIORITY[user.role];
    const job = await this.jobs.save(
      this.jobs.create({
        userId: user.id,
        ...query,
        status: 'queued',
        priority,
        refresh: dto.refresh,
        batchId,
        ...(area ? { coverage: 'area' as const, area: area.spec ?? null } : {}),
      }),
    );
    try {
      await this.queue.add(
        SCRAPE_JOB,
        {
          jobId: job.id,
          userId: user.id,
          ...query,
          refresh: dto.refresh,
          provider,
          ...(area
            ? { coverage: 'area' as const, area: area.spec, requestedAt: job.createdAt.getTime() }
            : {}),
        },
        {
          jobId: job.id,
          priority,
          attempts: SCRAPER_ATTEMPTS,
          backoff: { type: SCRAPER_BACKOFF_TYPE, delay: this.config.scraper.backoffMs },
          timeout: this.config.scraper.jobTimeoutMs,
          removeOnComplete: SCRAPER_KEEP_COMPLETED,
          removeOnFail: SCRAPER_KEEP_FAILED,
        },
      );
    } catch (error) {
      // Not queued: the row must not sit in `queued` forever.
      await this.jobs
        .update(job.id, {
          status: 'failed',
          error: 'Could not be queued (Redis unavailable)',
          finishedAt: new Date(),
        })
        .catch(() => undefined);
      throw error;
    }
    this.logger.log(
      jobLog({ jobId: job.id, userId: user.id }, `queued (cache miss), priority ${priority}`),
    );
    return { job_id: job.id, status: 'queued' };
  }

  /** What `create` with this body would cost the caller, and whether the cache would answer it. */
  async estimate(user: AuthUser, dto: CreateScrapeJobDto): Promise<ScrapeEstimateDto> {
    const [estimate, budget] = await Promise.all([
      this.costOf(user, dto),
      this.costs.budget(user.id),
    ]);
    return ScrapeEstimateDto.from(estimate, BudgetDto.from(budget));
  }

  /** 402 unless this month's budget can pay for the whole request (every area of a batch). */
  async admit(user: AuthUser, dto: CreateScrapeJobDto): Promise<void> {
    await this.costs.admit(user.id, await this.costOf(user, dto));
  }

  /** `max_results`, or its default: 20 for a query, SCRAPER_AREA_MAX_RESULTS for an area. */
  maxResultsOf(dto: Pick<CreateScrapeJobDto, 'max_results' | 'coverage'>): number {
    return (
      dto.max_results ??
      (dto.coverage === 'area' ? this.config.scraper.area.maxResults : DEFAULT_MAX_RESULTS)
    );
  }

  /** One area's cost on the caller's provider, or the sum over a batch's areas. */
  private async costOf(user: AuthUser, dto: CreateScrapeJobDto): Promise<ScrapeEstimate> {
    const provider = this.providers.primaryFor(user.role);
    // The same 422s as the job itself: an estimate of a job that would be refused is no answer.
    if (dto.coverage === 'area') this.areaJob(dto, provider);
    const maxResults = this.maxResultsOf(dto);
    const areas = Array.isArray(dto.kecamatan) ? dto.kecamatan : [dto.kecamatan];
    const estimates = await Promise.all(
      areas.map(async (area) => {
        const kecamatan = area?.trim() || null;
        const cached =
          dto.coverage !== 'area' &&
          !dto.refresh &&
          (await this.cachedPlaces(
            this.providers.cacheKey(dto.keyword, dto.location, kecamatan, provider),
            maxResults,
          )) !== undefined;
        return this.costs.estimate(
          { ...dto, kecamatan: area, max_results: maxResults },
          cached,
          provider,
        );
      }),
    );
    return sumEstimates(estimates);
  }

  /**
   * Checks an area request against this deployment (422 naming each problem) and returns what
   * its job carries: the given area, and a cache-key suffix telling it from the same query's
   * single search (and from another area's).
   */
  private areaJob(
    dto: Pick<CreateScrapeJobDto, 'max_results' | 'bounds' | 'polygon'>,
    provider: ProviderName,
  ): { spec?: AreaSpec; suffix: string } {
    const problems: string[] = [];
    if (provider !== 'google-places' || !this.area.available)
      problems.push(
        `coverage "area" is served by the google-places provider only; your role's searches go to ${provider} (SCRAPER_PROVIDER and SCRAPER_PROVIDER_<ROLE>), which answers one query (coverage "query")`,
      );
    const limit = this.config.scraper.area.maxResults;
    if (dto.max_results !== undefined && dto.max_results > limit)
      problems.push(
        `max_results must not be greater than ${limit} in area mode (SCRAPER_AREA_MAX_RESULTS)`,
      );
    if (dto.bounds && dto.polygon) problems.push('give bounds or polygon, not both');
    if (problems.length) throw new UnprocessableEntityException(problems);
    const spec = AreaCoverageService.spec({
      bounds: dto.bounds && BoundsDto.toBounds(dto.bounds),
      polygon: dto.polygon,
    });
    const suffix = `#area:${spec ? createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 32) : 'kecamatan'}`;
    return { spec, suffix };
  }

  async findOne(user: AuthUser, id: string): Promise<ScraperJob> {
    const job = await this.jobs.findOneBy(user.role === 'admin' ? { id } : { id, userId: user.id });
    if (!job) throw new ResourceNotFoundError('Scraper job', id);
    return job;
  }

  async list(user: AuthUser, query: ListScraperJobsQueryDto): Promise<Paginated<ScraperJobDto>> {
    const { skip, take } = pageOffset(query);
    const [rows, total] = await this.jobs.findAndCount({
      where: {
        ...(user.role === 'admin' ? {} : { userId: user.id }),
        ...(query.status ? { status: query.status } : {}),
      },
      order: { createdAt: 'DESC', id: 'DESC' },
      skip,
      take,
    });
    return paginate(
      rows.map((row) => ScraperJobDto.from(row)),
      total,
      query,
    );
  }

  /** The SSE stream of a job (access is checked by ScraperJobAccessGuard before it opens). */
  events(id: string): Observable<MessageEvent> {
    return this.jobEvents.stream(id, async () => {
      const [row] = await this.dataSource.query<ScrapeJobSnapshot[]>(
        `SELECT ${SNAPSHOT_COLUMNS} FROM scraper_jobs WHERE id = $1`,
        [id],
      );
      if (!row) throw new ResourceNotFoundError('Scraper job', id);
      return row;
    });
  }

  // ——— used by the processor ———

  async markProcessing(jobId: string, attempt: number): Promise<void> {
    await this.transition(
      `UPDATE scraper_jobs SET status = 'processing', progress = $2, attempts_made = $3,
              started_at = coalesce(started_at, now()), finished_at = NULL, updated_at = now()
        WHERE id = $1 RETURNING ${SNAPSHOT_COLUMNS}`,
      [jobId, SCRAPE_PROGRESS.started, attempt],
    );
  }

  async reportProgress(
    jobId: string,
    progress: number,
    rectangles?: { done: number; known: number },
  ): Promise<void> {
    await this.dataSource.query(
      `UPDATE scraper_jobs SET progress = $2, rectangles_done = coalesce($3, rectangles_done),
              rectangles_known = coalesce($4, rectangles_known), updated_at = now()
        WHERE id = $1 AND status = 'processing'`,
      [jobId, progress, rectangles?.done ?? null, rectangles?.known ?? null],
    );
    await this.jobEvents.publish({
      type: 'progress',
      job_id: jobId,
      progress,
      ...(rectangles ? { rectangles } : {}),
    });
  }

  /** Only a job still processing completes: an attempt that already timed out must not overwrite the outcome. */
  async markCompleted(
    jobId: string,
    result: ScrapeResult,
    provider: ProviderName | null = null,
  ): Promise<boolean> {
    return this.transition(
      `UPDATE scraper_jobs SET status = 'completed', progress = ${SCRAPE_PROGRESS.done}, result = $2::jsonb,
              error = NULL, provider = coalesce($3, provider), finished_at = now(), updated_at = now()
        WHERE id = $1 AND status = 'processing' RETURNING ${SNAPSHOT_COLUMNS}`,
      [jobId, JSON.stringify(result), provider],
    );
  }

  /** After a failed attempt: `failed` for good, or back to `queued` until the retry. */
  async markAttemptFailed(
    jobId: string,
    error: string,
    attemptsMade: number,
    final: boolean,
  ): Promise<void> {
    await this.transition(
      `UPDATE scraper_jobs
          SET status = (CASE WHEN $2::boolean THEN 'failed' ELSE 'queued' END)::scraper_job_status,
              error = $3, attempts_made = GREATEST(attempts_made, $4),
              finished_at = CASE WHEN $2::boolean THEN now() END, updated_at = now()
        WHERE id = $1 AND status <> 'completed' RETURNING ${SNAPSHOT_COLUMNS}`,
      [jobId, final, error, attemptsMade],
    );
  }

  async storePlaces(data: ScrapeJobData, places: Place[]): Promise<StoreResult> {
    return this.places.store(
      {
        userId: data.userId,
        jobId: data.jobId,
        keyword: data.keyword,
        location: data.location,
        kecamatan: data.kecamatan,
      },
      places,
    );
  }

  async cachePlaces(cacheKey: string, maxResults: number, places: Place[]): Promise<void> {
    const entry: CachedScrape = { maxResults, places, scrapedAt: new Date().toISOString() };
    try {
      await this.cache.set(cacheKey, entry, this.config.scraper.cacheTtlMs);
    } catch (error) {
      // The places are stored either way; a missing cache entry only costs a future scrape.
      this.logger.warn(`could not cache ${cacheKey}: ${(error as Error).message}`);
    }
  }

  /** An admin retried failed jobs: their rows go back to `queued`. */
  @OnEvent(QUEUE_EVENTS.retried(SCRAPER_QUEUE))
  async onRetried(event: QueueJobsRetriedEvent): Promise<void> {
    await this.transition(
      `UPDATE scraper_jobs SET status = 'queued', error = NULL, progress = 0, finished_at = NULL, updated_at = now()
        WHERE id = ANY($1::uuid[]) AND status = 'failed' RETURNING ${SNAPSHOT_COLUMNS}`,
      [event.jobIds],
    ).catch((error: Error) =>
      this.logger.warn(`could not requeue ${event.jobIds.length} job row(s): ${error.message}`),
    );
  }

  // ——— internals ———

  /** Runs an UPDATE … RETURNING snapshot(s) and publishes each new state. False when no row matched. */
  private async transition(sql: string, params: unknown[]): Promise<boolean> {
    const [rows] = await this.dataSource.query<[ScrapeJobSnapshot[], number]>(sql, params);
    await Promise.all(rows.map((job) => this.jobEvents.publish({ type: 'status', job })));
    return rows.length > 0;
  }

  /** The cached places of a query, if they answer `maxResults` (the API's fast path and the worker's first look). */
  async cachedPlaces(cacheKey: string, maxResults: number): Promise<CachedScrape | undefined> {
    const entry = await this.cache.get<CachedScrape>(cacheKey);
    if (!entry || !Array.isArray(entry.places)) return undefined;
    // A larger request than the cached one is a miss, unless the provider had no more to give.
    if (maxResults > entry.maxResults && entry.places.length >= entry.maxResults) return undefined;
    return { ...entry, places: entry.places.slice(0, maxResults) };
  }

  private async completeFromCache(
    user: AuthUser,
    query: {
      keyword: string;
      location: string;
      kecamatan: string | null;
      maxResults: number;
      cacheKey: string;
    },
    hit: CachedScrape,
    batchId: string | null,
    provider: ProviderName,
  ): Promise<ScrapeJobCachedDto> {
    const id = randomUUID();
    const result = await this.places.storeBatch(
      {
        userId: user.id,
        jobId: id,
        keyword: query.keyword,
        location: query.location,
        kecamatan: query.kecamatan,
      },
      hit.places,
      // One cache entry is one batch: a re-scrape (refresh, expiry) is a new one.
      `${query.cacheKey}@${hit.scrapedAt}`,
    );
    this.metrics.placesStored(result);
    this.logger.log(
      jobLog(
        { jobId: id, userId: user.id },
        `answered from the cache: ${result.inserted} new, ${result.duplicates} duplicates`,
      ),
    );
    await INSERT_CACHED_JOB.run(this.dataSource, [
      id,
      user.id,
      query.keyword,
      query.location,
      query.kecamatan,
      query.maxResults,
      query.cacheKey,
      SCRAPER_PRIORITY[user.role],
      JSON.stringify(result),
      batchId,
      provider,
    ]);
    return {
      job_id: id,
      status: 'completed',
      cached: true,
      result,
      cost: JobCostDto.from(0, 0),
    };
  }
}
