import { ApiProperty, IntersectionType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  buildMessage,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateBy,
} from 'class-validator';
import { IsSafeText, PageQueryDto } from '@app/common';
import { BILLING_SKUS } from '@app/config';
import { MAX_RESULTS_LIMIT } from '@app/google-maps';
import { BudgetDto } from '../../spend/dto/spend.dto.js';
import { toUsd } from '../../spend/spend.money.js';
import type { ScrapeEstimate } from '../scrape-cost.service.js';
import { normalizeQueryPart } from '../scraper.cache-key.js';
import { MAX_BATCH_AREAS } from '../scraper.constants.js';
import {
  SCRAPER_JOB_STATUSES,
  type ScraperJob,
  type ScraperJobStatus,
} from '../entities/scraper-job.entity.js';

const trimText = (value: unknown) =>
  typeof value === 'string' ? value.replace(/\s+/g, ' ').trim() : value;
const trim = ({ value }: { value: unknown }) => trimText(value);
const trimEach = ({ value }: { value: unknown }) =>
  Array.isArray(value) ? value.map(trimText) : trimText(value);

/**
 * A list of areas, when `kecamatan` is one: 1–MAX_BATCH_AREAS non-empty names, none twice
 * (compared as the cache compares them: case, accents and spacing folded). A plain string passes.
 */
function IsAreaList(): PropertyDecorator {
  const problem = (value: unknown): string | null => {
    if (!Array.isArray(value)) return null;
    if (value.length < 1 || value.length > MAX_BATCH_AREAS)
      return `must list 1 to ${MAX_BATCH_AREAS} areas (got ${value.length})`;
    if (value.some((area) => typeof area === 'string' && !area))
      return 'must not list an empty area';
    const seen = new Map<string, string>();
    const duplicates = new Set<string>();
    for (const area of value) {
      if (typeof area !== 'string') continue;
      const key = normalizeQueryPart(area);
      if (seen.has(key)) duplicates.add(seen.get(key)!);
      else seen.set(key, area);
    }
    return duplicates.size ? `lists duplicate areas: ${[...duplicates].join(', ')}` : null;
  };
  return ValidateBy({
    name: 'isAreaList',
    validator: {
      validate: (value) => problem(value) === null,
      defaultMessage: buildMessage(
        (_each, args) => `$property ${problem(args?.value) ?? 'is invalid'}`,
      ),
    },
  });
}

export class CreateScrapeJobDto {
  /** What to look for. */
  @ApiProperty({ example: 'coffee shop', maxLength: 200 })
  @Transform(trim)
  @IsString()
  @IsSafeText()
  @IsNotEmpty()
  @MaxLength(200)
  keyword!: string;

  /** City or area. */
  @ApiProperty({ example: 'Jakarta Selatan', maxLength: 200 })
  @Transform(trim)
  @IsString()
  @IsSafeText()
  @IsNotEmpty()
  @MaxLength(200)
  location!: string;

  /**
   * District (kecamatan) within the location; or a list of 1–50 different districts: one job
   * per district, grouped in a batch (answered 202 with the batch; counts one quota unit per district).
   */
  @ApiProperty({
    required: false,
    oneOf: [
      { type: 'string', maxLength: 200, example: 'Kebayoran Baru' },
      {
        type: 'array',
        items: { type: 'string', maxLength: 200 },
        minItems: 1,
        maxItems: MAX_BATCH_AREAS,
        uniqueItems: true,
        example: ['Kebayoran Baru', 'Tebet', 'Menteng'],
      },
    ],
  })
  @IsOptional()
  @Transform(trimEach)
  @IsString({ each: true })
  @IsSafeText({}, { each: true })
  @MaxLength(200, { each: true })
  @IsAreaList()
  kecamatan?: string | string[];

  /** How many places to fetch: 1–60 (Google's limit), default 20. */
  @ApiProperty({ required: false, minimum: 1, maximum: MAX_RESULTS_LIMIT, default: 20 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_RESULTS_LIMIT)
  max_results: number = 20;

  /** Skip the cache and scrape again (the fresh result refreshes the cache). */
  @ApiProperty({ required: false, default: false })
  @IsOptional()
  @IsBoolean()
  refresh: boolean = false;

  /** `query` (default): what one Text Search returns (≤ 60); `area`: every place in the area, by a grid of searches. */
  @ApiProperty({ required: false, enum: ['query', 'area'], default: 'query' })
  @IsOptional()
  @IsIn(['query', 'area'])
  coverage: 'query' | 'area' = 'query';

  /** Area coverage: the area as south-west / north-east corners, instead of the kecamatan's viewport. */
  @ApiProperty({
    required: false,
    type: Object,
    example: { south_west: { lat: -6.25, lng: 106.79 }, north_east: { lat: -6.22, lng: 106.82 } },
  })
  @IsOptional()
  @IsObject()
  bounds?: Record<string, unknown>;

  /** Area coverage: the area as a GeoJSON Polygon; places outside it are dropped. */
  @ApiProperty({ required: false, type: Object, example: { type: 'Polygon', coordinates: [] } })
  @IsOptional()
  @IsObject()
  polygon?: Record<string, unknown>;
}

/** What a job's provider requests cost (estimated from the price table). */
export class JobCostDto {
  /** Billed provider requests: 0 when answered from the cache or by another job's identical search. */
  @ApiProperty({ example: 3 }) requests!: number;
  @ApiProperty({ example: 0.105 }) estimated_usd!: number;

  static from(requests: number, micros: number | string): JobCostDto {
    return { requests, estimated_usd: toUsd(Number(micros)) };
  }
}

export class RequestRangeDto {
  @ApiProperty() min!: number;
  @ApiProperty() max!: number;
}

export class UsdRangeDto {
  @ApiProperty({ example: 0.035 }) min!: number;
  @ApiProperty({ example: 0.105 }) max!: number;
}

/** What a scrape would cost before it runs. */
export class ScrapeEstimateDto {
  @ApiProperty({ enum: ['query', 'area'] }) coverage!: 'query' | 'area';
  @ApiProperty({ enum: ['google-places', 'python-api'] }) provider!: string;
  /** What each request is billed as (Text Search at the tier of the scraper's field mask). */
  @ApiProperty({ enum: BILLING_SKUS }) sku!: string;
  /** Answered from the cache: no provider request at all. */
  @ApiProperty() from_cache!: boolean;
  /** Area coverage: cells of the area already cached (free); null for query coverage. */
  @ApiProperty({ type: Number, nullable: true }) cached_cells!: number | null;
  /** Billed requests expected: a query search 1 to ceil(max_results / 20) pages (fewer when the query has fewer places). */
  @ApiProperty({ type: RequestRangeDto }) requests!: RequestRangeDto;
  @ApiProperty({ type: UsdRangeDto }) estimated_usd!: UsdRangeDto;
  /** The caller's month. */
  @ApiProperty({ type: BudgetDto }) budget!: BudgetDto;
  /** False: `POST /api/scraper/jobs` with this body would answer 402 (the maximum exceeds what is left). */
  @ApiProperty() affordable!: boolean;

  static from(estimate: ScrapeEstimate, budget: BudgetDto): ScrapeEstimateDto {
    const max = toUsd(estimate.usdMicros.max);
    return {
      coverage: estimate.coverage,
      provider: estimate.provider,
      sku: estimate.sku,
      from_cache: estimate.fromCache,
      cached_cells: estimate.cachedCells,
      requests: estimate.requests,
      estimated_usd: { min: toUsd(estimate.usdMicros.min), max },
      budget,
      affordable: budget.remaining_usd === null || max <= budget.remaining_usd,
    };
  }
}

export class ScrapeResultDto {
  /** Places found. */
  @ApiProperty() total!: number;
  /** Newly stored in your list. */
  @ApiProperty() inserted!: number;
  /** Skipped: you already had a place with that name in that kecamatan. */
  @ApiProperty() duplicates!: number;
}

export class ScrapeJobAcceptedDto {
  @ApiProperty({ format: 'uuid' }) job_id!: string;
  @ApiProperty({ enum: ['queued'] }) status!: 'queued';
}

export class ScrapeJobCachedDto {
  @ApiProperty({ format: 'uuid' }) job_id!: string;
  @ApiProperty({ enum: ['completed'] }) status!: 'completed';
  @ApiProperty({ enum: [true] }) cached!: true;
  @ApiProperty({ type: ScrapeResultDto }) result!: ScrapeResultDto;
  /** Always 0 requests, $0: the cache answered. */
  @ApiProperty({ type: JobCostDto }) cost!: JobCostDto;
}

export class ScraperJobDto {
  @ApiProperty({ format: 'uuid' }) job_id!: string;
  @ApiProperty({ enum: SCRAPER_JOB_STATUSES }) status!: ScraperJobStatus;
  /** 0–100. */
  @ApiProperty() progress!: number;
  /** Attempts started so far (at most 3). */
  @ApiProperty() attempts_made!: number;
  /** Why the job failed, or why the last attempt failed while it waits for a retry. */
  @ApiProperty({ type: String, nullable: true }) error!: string | null;
  @ApiProperty({ type: ScrapeResultDto, nullable: true }) result!: ScrapeResultDto | null;
  /** Answered from the cache. */
  @ApiProperty() cached!: boolean;
  @ApiProperty() keyword!: string;
  @ApiProperty() location!: string;
  @ApiProperty({ type: String, nullable: true }) kecamatan!: string | null;
  @ApiProperty() max_results!: number;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) started_at!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finished_at!: string | null;
  /** The provider requests this job paid for, over all its attempts. */
  @ApiProperty({ type: JobCostDto }) cost!: JobCostDto;
  /** The batch it belongs to, when it was asked with a list of kecamatan. */
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) batch_id!: string | null;
  /**
   * The provider that served it: the one routed to for the owner's role, or the fallback when that
   * one was unavailable; for a cache hit, the provider whose cached answer it got. Null until served.
   */
  @ApiProperty({ type: String, enum: ['python-api', 'google-places'], nullable: true })
  provider!: 'python-api' | 'google-places' | null;

  static from(job: ScraperJob): ScraperJobDto {
    return {
      job_id: job.id,
      status: job.status,
      progress: job.progress,
      attempts_made: job.attemptsMade,
      error: job.error,
      result: job.result,
      cached: job.cached,
      keyword: job.keyword,
      location: job.location,
      kecamatan: job.kecamatan,
      max_results: job.maxResults,
      created_at: job.createdAt.toISOString(),
      started_at: job.startedAt?.toISOString() ?? null,
      finished_at: job.finishedAt?.toISOString() ?? null,
      cost: JobCostDto.from(job.costRequests, job.costUsdMicros),
      batch_id: job.batchId ?? null,
      provider: job.provider ?? null,
    };
  }
}

export class ScraperJobFilterDto {
  @ApiProperty({ required: false, enum: SCRAPER_JOB_STATUSES })
  @IsOptional()
  @IsIn(SCRAPER_JOB_STATUSES)
  status?: ScraperJobStatus;
}

export class ListScraperJobsQueryDto extends IntersectionType(PageQueryDto, ScraperJobFilterDto) {}
