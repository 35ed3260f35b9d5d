import { ApiProperty } from '@nestjs/swagger';
import {
  SCRAPER_BATCH_STATUSES,
  type BatchProgress,
  type ScraperBatchStatus,
} from '../scraper-batch.progress.js';
import { ScrapeResultDto, ScraperJobDto } from './scraper.dto.js';

/** One area of a batch as the creation answers it. */
export class ScrapeBatchJobDto {
  @ApiProperty({ format: 'uuid' }) job_id!: string;
  @ApiProperty() kecamatan!: string;
  /** `completed` when answered from the cache at once, else `queued`. */
  @ApiProperty({ enum: ['queued', 'completed'] }) status!: 'queued' | 'completed';
  @ApiProperty() cached!: boolean;
  /** Set when answered from the cache. */
  @ApiProperty({ type: ScrapeResultDto, nullable: true }) result!: ScrapeResultDto | null;
}

export class ScrapeBatchAcceptedDto {
  @ApiProperty({ format: 'uuid' }) batch_id!: string;
  @ApiProperty({ enum: SCRAPER_BATCH_STATUSES }) status!: ScraperBatchStatus;
  /** One job per area, in the order asked. */
  @ApiProperty({ type: [ScrapeBatchJobDto] }) jobs!: ScrapeBatchJobDto[];
}

export class BatchJobsByStatusDto {
  @ApiProperty() queued!: number;
  @ApiProperty() processing!: number;
  @ApiProperty() completed!: number;
  @ApiProperty() failed!: number;
}

export class BatchPlacesDto {
  /** Places the providers found, over all areas. */
  @ApiProperty() found!: number;
  /** Newly stored in your list. */
  @ApiProperty() new!: number;
  /** Skipped: already in your list. */
  @ApiProperty() duplicates!: number;
}

/** A batch's state, aggregated from its jobs (also the `batch` and `end` events of its stream). */
export class BatchProgressDto {
  @ApiProperty({ format: 'uuid' }) batch_id!: string;
  /**
   * `queued`/`processing` until every job is over; then `completed` (all completed), `failed`
   * (all failed) or `partially_failed`.
   */
  @ApiProperty({ enum: SCRAPER_BATCH_STATUSES }) status!: ScraperBatchStatus;
  /** 0–100: the mean of its jobs' progress. */
  @ApiProperty() progress!: number;
  /** How many areas (= jobs). */
  @ApiProperty() areas!: number;
  @ApiProperty({ type: BatchJobsByStatusDto }) jobs_by_status!: BatchJobsByStatusDto;
  @ApiProperty({ type: BatchPlacesDto }) places!: BatchPlacesDto;

  static from(batchId: string, progress: BatchProgress): BatchProgressDto {
    return { batch_id: batchId, ...progress };
  }
}

export class ScraperBatchDto extends BatchProgressDto {
  @ApiProperty() keyword!: string;
  @ApiProperty() location!: string;
  @ApiProperty() max_results!: number;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  /** Every job of the batch with its result, by kecamatan. */
  @ApiProperty({ type: [ScraperJobDto] }) jobs!: ScraperJobDto[];
}

/** A batch in the list: its aggregate without the jobs. */
export class ScraperBatchSummaryDto extends BatchProgressDto {
  @ApiProperty() keyword!: string;
  @ApiProperty() location!: string;
  @ApiProperty() max_results!: number;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
}
