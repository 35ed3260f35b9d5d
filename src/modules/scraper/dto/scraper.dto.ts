import { ApiProperty, IntersectionType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { IsSafeText, PageQueryDto } from '@app/common';
import { MAX_RESULTS_LIMIT } from '@app/google-maps';
import {
  SCRAPER_JOB_STATUSES,
  type ScraperJob,
  type ScraperJobStatus,
} from '../entities/scraper-job.entity.js';

const trim = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.replace(/\s+/g, ' ').trim() : value;

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

  /** District (kecamatan) within the location. */
  @ApiProperty({ required: false, example: 'Kebayoran Baru', maxLength: 200 })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @IsSafeText()
  @MaxLength(200)
  kecamatan?: string;

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
