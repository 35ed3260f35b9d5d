import { ApiProperty } from '@nestjs/swagger';
import { IsNumber, Max, Min, ValidateIf } from 'class-validator';
import { USER_ROLES } from '../../auth/entities/user.entity.js';
import type { BudgetState, SpendSummary, SpendTotals } from '../spend.service.js';
import { toUsd } from '../spend.money.js';

/** A user's monthly provider budget and what is used of it. */
export class BudgetDto {
  @ApiProperty({ format: 'uuid' }) user_id!: string;
  @ApiProperty({ enum: USER_ROLES }) role!: string;
  /** The month counted, `YYYY-MM` (UTC). */
  @ApiProperty({ example: '2026-12' }) month!: string;
  /** The budget in force, USD per month; null when unlimited (admins by default). */
  @ApiProperty({ type: Number, nullable: true, example: 10 }) limit_usd!: number | null;
  /** Set by an admin for this user; null when the role's default applies. */
  @ApiProperty({ type: Number, nullable: true, example: null }) own_budget_usd!: number | null;
  /** Estimated provider spend this month, including reservations of jobs running now. */
  @ApiProperty({ example: 0.105 }) spent_usd!: number;
  /** Billed provider requests this month (settled). */
  @ApiProperty({ example: 3 }) requests!: number;
  /** null when unlimited. */
  @ApiProperty({ type: Number, nullable: true, example: 9.895 }) remaining_usd!: number | null;
  /** When the month's spend starts again from 0: the first of next month, 00:00 UTC. */
  @ApiProperty({ format: 'date-time' }) renews_at!: string;

  static from(state: BudgetState): BudgetDto {
    return {
      user_id: state.userId,
      role: state.role,
      month: state.month.toISOString().slice(0, 7),
      limit_usd: state.limitMicros === null ? null : toUsd(state.limitMicros),
      own_budget_usd: state.ownBudgetUsd,
      spent_usd: toUsd(state.usedMicros),
      requests: state.requests,
      remaining_usd: state.remainingMicros === null ? null : toUsd(state.remainingMicros),
      renews_at: state.renewsAt.toISOString(),
    };
  }
}

export class SetBudgetDto {
  /** USD per month (cents at most); null returns the user to the role's default. */
  @ApiProperty({ type: Number, nullable: true, minimum: 0, maximum: 1_000_000_000, example: 25 })
  @ValidateIf((dto: SetBudgetDto) => dto.monthly_budget_usd !== null)
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(0)
  @Max(1_000_000_000)
  monthly_budget_usd!: number | null;
}

export class SpendTotalsDto {
  @ApiProperty() requests!: number;
  @ApiProperty({ example: 1.23 }) usd!: number;

  static from(totals: SpendTotals): SpendTotalsDto {
    return { requests: totals.requests, usd: toUsd(totals.usdMicros) };
  }
}

export class ProviderSpendDto extends SpendTotalsDto {
  @ApiProperty({ enum: ['google-places', 'python-api'] }) provider!: string;
}

export class UserSpendDto extends SpendTotalsDto {
  @ApiProperty({ format: 'uuid' }) user_id!: string;
  @ApiProperty() email!: string;
}

export class SpendPeriodDto {
  /** The period's start (UTC midnight today, or the first of the month). */
  @ApiProperty({ format: 'date-time' }) since!: string;
  @ApiProperty({ type: SpendTotalsDto }) total!: SpendTotalsDto;
  @ApiProperty({ type: [ProviderSpendDto] }) by_provider!: ProviderSpendDto[];
  /** The top 100 spenders, biggest first. */
  @ApiProperty({ type: [UserSpendDto] }) by_user!: UserSpendDto[];

  static from(summary: SpendSummary): SpendPeriodDto {
    return {
      since: summary.since.toISOString(),
      total: SpendTotalsDto.from(summary.total),
      by_provider: summary.byProvider.map((p) => ({
        provider: p.provider,
        ...SpendTotalsDto.from(p),
      })),
      by_user: summary.byUser.map((u) => ({
        user_id: u.userId,
        email: u.email,
        ...SpendTotalsDto.from(u),
      })),
    };
  }
}

/** Estimated provider spend (from the ledger) for today and this month, UTC. */
export class SpendStatsDto {
  @ApiProperty({ type: SpendPeriodDto }) today!: SpendPeriodDto;
  @ApiProperty({ type: SpendPeriodDto }) month!: SpendPeriodDto;
}
