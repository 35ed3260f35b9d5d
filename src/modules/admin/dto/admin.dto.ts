import { ApiProperty } from '@nestjs/swagger';
import { QUEUE_NAMES, type QueueName } from '@app/common';
import { SpendStatsDto } from '../../spend/dto/spend.dto.js';

const NAMES = Object.values(QUEUE_NAMES);

export class QueueCountsDto {
  @ApiProperty() waiting!: number;
  @ApiProperty() active!: number;
  @ApiProperty() completed!: number;
  @ApiProperty() failed!: number;
  @ApiProperty() delayed!: number;
  /** Waiting while the queue is paused. */
  @ApiProperty() paused!: number;
}

/** Waiting (and paused) jobs per priority. */
export class WaitingByPriorityDto {
  @ApiProperty() admin!: number;
  @ApiProperty() premium!: number;
  @ApiProperty() user!: number;
  /** Jobs added without a priority. */
  @ApiProperty() none!: number;
}

export class QueueSummaryDto {
  @ApiProperty({ enum: NAMES }) name!: QueueName;
  @ApiProperty() is_paused!: boolean;
  @ApiProperty({ type: QueueCountsDto }) counts!: QueueCountsDto;
  @ApiProperty({ type: WaitingByPriorityDto }) waiting_by_priority!: WaitingByPriorityDto;
}

export class QueuesOverviewDto {
  @ApiProperty({ type: [QueueSummaryDto] }) queues!: QueueSummaryDto[];
}

export class FailedJobDto {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: Object }) data!: unknown;
  /** The error of the last attempt. */
  @ApiProperty({ type: String, nullable: true }) failed_reason!: string | null;
  /** The stack of the last attempt. */
  @ApiProperty({ type: String, nullable: true }) stacktrace!: string | null;
  @ApiProperty() attempts_made!: number;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finished_at!: string | null;
}

export class RetriedDto {
  @ApiProperty() queue!: string;
  @ApiProperty() retried!: number;
}

export class RemovedDto {
  @ApiProperty() queue!: string;
  @ApiProperty() removed!: number;
}

export class RetriedJobDto {
  @ApiProperty() queue!: string;
  @ApiProperty() job_id!: string;
  @ApiProperty({ enum: ['waiting'] }) status!: 'waiting';
}

export class AdminStatsDto {
  @ApiProperty({ example: { total: 12, by_role: { user: 10, premium: 1, admin: 1 } } })
  users!: { total: number; by_role: Record<string, number> };
  /** Job rows per status, for each kind of job. */
  @ApiProperty({
    example: {
      scraper: { queued: 1, processing: 0, completed: 40, failed: 2, total: 43 },
      crawler: { queued: 0, running: 1, completed: 9, failed: 1, cancelled: 0, total: 11 },
    },
  })
  jobs!: { scraper: Record<string, number>; crawler: Record<string, number> };
  @ApiProperty({ example: { total: 1200 } })
  places!: { total: number };
  /** Scrape requests in the window that consulted the cache (not `refresh`), and how many it answered. */
  @ApiProperty({ example: { window_hours: 24, lookups: 50, hits: 20, misses: 30, hit_rate: 0.4 } })
  cache!: {
    window_hours: number;
    lookups: number;
    hits: number;
    misses: number;
    hit_rate: number | null;
  };
  /** Estimated provider spend (the ledger of billed requests) for today and this month (UTC), per provider and per user. */
  @ApiProperty({ type: SpendStatsDto })
  spend!: SpendStatsDto;
}
