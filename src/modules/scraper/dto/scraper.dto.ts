import { ApiProperty, IntersectionType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  buildMessage,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateBy,
} from 'class-validator';
import { IsSafeText, PageQueryDto } from '@app/common';
import { MAX_RESULTS_LIMIT } from '@app/google-maps';
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
