import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Length,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  Validate,
  ValidatorConstraint,
  type ValidationArguments,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { IsSafeText, PageQueryDto } from '@app/common';
import { MAX_LINE_LENGTH, MAX_LINES_PER_REQUEST } from '../crawler.constants.js';
import { acceptValidCrawlerLogBody } from './crawler-log.body.js';
import {
  CRAWLER_JOB_STATUSES,
  type CrawlerJob,
  type CrawlerJobStatus,
} from '../entities/crawler-job.entity.js';

const trimAll = ({ value }: { value: unknown }) =>
  Array.isArray(value)
    ? value.map((item) => (typeof item === 'string' ? item.trim() : item))
    : value;

export class StartCrawlerDto {
  /** Domains to generate per keyword. */
  @ApiProperty({ minimum: 1, maximum: 100, example: 5 })
  @IsInt()
  @Min(1)
  @Max(100)
  domain_count!: number;

  /** Keywords; RunPod gets one request per keyword. */
  @ApiProperty({ type: [String], minItems: 1, maxItems: 20, example: ['coffee shop jakarta'] })
  @Transform(trimAll)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @IsSafeText({}, { each: true })
  @IsNotEmpty({ each: true })
  @MaxLength(200, { each: true })
  keywords!: string[];
}

export class StartCrawlerResponseDto {
  @ApiProperty({ format: 'uuid' }) job_id!: string;
  @ApiProperty({ enum: CRAWLER_JOB_STATUSES, example: 'queued' }) status!: CrawlerJobStatus;
  @ApiProperty({ example: 'Crawler job queued: 1 keyword(s), 5 domain(s) each' }) message!: string;
}

@ValidatorConstraint({ name: 'oneOfMessageOrMessages' })
class OneOfMessageOrMessages implements ValidatorConstraintInterface {
  validate(_value: unknown, args: ValidationArguments): boolean {
    const body = args.object as { message?: unknown; messages?: unknown };
    return (body.message === undefined) !== (body.messages === undefined);
  }
  defaultMessage(): string {
    return 'send exactly one of message or messages';
  }
}

/** A RunPod worker's log line(s). */
export class CrawlerLogDto {
  /** The webhook's fast path (see crawler-log.body.ts); class-validator answers the rest. */
  static acceptValid(body: unknown): CrawlerLogDto | undefined {
    return acceptValidCrawlerLogBody(body, () => new CrawlerLogDto());
  }

  /** The job id the backend sent RunPod. */
  @ApiProperty({ example: '3f1c…' })
  @IsString()
  @Length(1, 100)
  job_id!: string;

  /** One line, e.g. `[INFO] Progress: 40% - …` or `[SUMMARY] {json}`. */
  @ApiProperty({
    required: false,
    maxLength: MAX_LINE_LENGTH,
    example: '[INFO] Progress: 40% - Generated domain 2/5',
  })
  @ValidateIf((body: CrawlerLogDto) => body.messages === undefined)
  @Validate(OneOfMessageOrMessages)
  @IsString()
  @MaxLength(MAX_LINE_LENGTH)
  message?: string;

  /** Several lines in order (a batch), instead of `message`. */
  @ApiProperty({ required: false, type: [String], minItems: 1, maxItems: MAX_LINES_PER_REQUEST })
  @ValidateIf((body: CrawlerLogDto) => body.messages !== undefined)
  @Validate(OneOfMessageOrMessages)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_LINES_PER_REQUEST)
  @IsString({ each: true })
  @MaxLength(MAX_LINE_LENGTH, { each: true })
  messages?: string[];
}

export class CrawlerLogResponseDto {
  @ApiProperty({ example: 'success' }) status!: 'success';
  @ApiProperty() job_id!: string;
  @ApiProperty({ example: 'Log message received and queued' }) message!: string;
}

export class CrawlerJobsQueryDto extends PageQueryDto {
  /** Only jobs in this status. */
  @ApiProperty({ required: false, enum: CRAWLER_JOB_STATUSES })
  @IsOptional()
  @IsIn(CRAWLER_JOB_STATUSES)
  status?: CrawlerJobStatus;
}

export class CrawlerJobDto {
  @ApiProperty({ format: 'uuid' }) job_id!: string;
  @ApiProperty({ format: 'uuid' }) user_id!: string;
  @ApiProperty({ enum: CRAWLER_JOB_STATUSES }) status!: CrawlerJobStatus;
  /** 0–100: the last `Progress: N%` line; 100 once completed. */
  @ApiProperty({ minimum: 0, maximum: 100 }) progress!: number;
  @ApiProperty({ type: [String] }) keywords!: string[];
  @ApiProperty() domain_count!: number;
  /** Lines logged so far (also the id of the last one). */
  @ApiProperty() log_count!: number;
  /** The latest `[SUMMARY]` JSON. */
  @ApiProperty({ type: Object, nullable: true }) summary!: unknown;
  /** Every `[SUMMARY]` received, one per keyword. */
  @ApiProperty({ type: [Object] }) summaries!: unknown[];
  /** Domains generated, from summaries and pods' final answers. */
  @ApiProperty({ type: [String] }) domains!: unknown[];
  @ApiProperty({ type: String, nullable: true }) error!: string | null;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) started_at!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finished_at!: string | null;

  static from(job: CrawlerJob): CrawlerJobDto {
    return {
      job_id: job.id,
      user_id: job.userId,
      status: job.status,
      progress: job.progress,
      keywords: job.keywords,
      domain_count: job.domainCount,
      log_count: job.logCount,
      summary: job.summary ?? null,
      summaries: job.summaries,
      // A set since the write path de-duplicates; jobs stored before that may still hold repeats.
      domains: [...new Set(job.domains)],
      error: job.error,
      created_at: job.createdAt.toISOString(),
      started_at: job.startedAt?.toISOString() ?? null,
      finished_at: job.finishedAt?.toISOString() ?? null,
    };
  }
}

export class CancelCrawlerResponseDto {
  @ApiProperty({ format: 'uuid' }) job_id!: string;
  @ApiProperty({ example: 'cancelled' }) status!: 'cancelled';
}

/**
 * The client's position: `Last-Event-ID` (a reconnecting EventSource) or `?last_event_id=` (clients
 * that cannot send the header); null when neither carries a line id (a first visit).
 */
export const lastEventIdOf = (header: unknown, query: unknown): number | null => {
  const raw =
    typeof header === 'string' && header ? header : typeof query === 'string' ? query : '';
  return /^\d{1,9}$/.test(raw.trim()) ? Number(raw.trim()) : null;
};
