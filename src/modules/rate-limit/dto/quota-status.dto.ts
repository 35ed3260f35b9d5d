import { ApiProperty } from '@nestjs/swagger';
import { USER_ROLES } from '../../auth/entities/user.entity.js';
import { BudgetDto } from '../../spend/dto/spend.dto.js';
import type { QuotaState } from '../quota.service.js';

export class QuotaBucketDto {
  @ApiProperty({ enum: ['crawler', 'scraper'] }) bucket!: string;
  /** Requests allowed per hour; null when unlimited. */
  @ApiProperty({ type: Number, nullable: true }) limit!: number | null;
  @ApiProperty() used!: number;
  @ApiProperty({ type: Number, nullable: true }) remaining!: number | null;
  /** Seconds until the counters reset. */
  @ApiProperty() reset!: number;
  @ApiProperty({ format: 'date-time' }) reset_at!: string;

  static from(state: QuotaState): QuotaBucketDto {
    return {
      bucket: state.bucket,
      limit: state.limit,
      used: state.used,
      remaining: state.remaining,
      reset: state.resetSeconds,
      reset_at: state.resetAt.toISOString(),
    };
  }
}

export class QuotaStatusDto {
  @ApiProperty({ enum: USER_ROLES }) role!: string;
  @ApiProperty({ type: [QuotaBucketDto] }) buckets!: QuotaBucketDto[];
  /** The caller's monthly provider budget: limit, spent, remaining, renewal. */
  @ApiProperty({ type: BudgetDto }) spend!: BudgetDto;
}
