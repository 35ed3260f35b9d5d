import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BudgetExceededError, ResourceNotFoundError } from '@app/common';
import { AppConfig, type PricedSku, type UserRole } from '@app/config';
import type { BilledRequest, BillingSku, Meter, ProviderName } from '@app/google-maps';
import { Metrics } from '../metrics/metrics.service.js';
import { formatUsd, MICROS_PER_USD, monthStart, nextMonthStart, toUsd } from './spend.money.js';

// Every SKU the providers bill has a price (and the env schema's list matches the library's type).
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const SKUS_MATCH: Exact<BillingSku, PricedSku> = true;
void SKUS_MATCH;

/** A user's month: what counts against the budget (settled spend + reservations of running jobs). */
export interface BudgetState {
  userId: string;
  role: UserRole;
  /** The user's own budget (USD), or null: the role's default applies. */
  ownBudgetUsd: number | null;
  /** The budget in force, in micro-dollars; null: unlimited. */
  limitMicros: number | null;
  usedMicros: number;
  requests: number;
  /** null: unlimited. */
  remainingMicros: number | null;
  month: Date;
  renewsAt: Date;
}

export interface SpendTotals {
  requests: number;
  usdMicros: number;
}

export interface SpendSummary {
  since: Date;
  total: SpendTotals;
  byProvider: Array<SpendTotals & { provider: string }>;
  byUser: Array<SpendTotals & { userId: string; email: string }>;
}

/** Users listed per period in the admin's statistics (the biggest spenders). */
export const SPEND_STATS_TOP_USERS = 100;

/**
 * Adds `micros` to the user's month if it stays within the budget in force — in ONE statement:
 * the upsert locks the month's row, so concurrent reservations of one user (any process) are
 * serialised by PostgreSQL and the last one that would cross the budget gets no row back.
 * The budget is read in the same statement ($3/$4: role defaults in micros, NULL unlimited).
 */
const RESERVE = `
  WITH budget AS (
    SELECT CASE WHEN u.monthly_budget_usd IS NOT NULL THEN (u.monthly_budget_usd * 1000000)::bigint
                WHEN u.role = 'user' THEN $3::bigint
                WHEN u.role = 'premium' THEN $4::bigint END AS micros
      FROM users u WHERE u.id = $1)
  INSERT INTO user_spend_months AS s (user_id, month, usd_micros)
  SELECT $1, (date_trunc('month', now() AT TIME ZONE 'UTC'))::date, $2::bigint FROM budget
   WHERE budget.micros IS NULL OR $2::bigint <= budget.micros
  ON CONFLICT (user_id, month) DO UPDATE SET usd_micros = s.usd_micros + excluded.usd_micros
   WHERE (SELECT micros FROM budget) IS NULL
      OR s.usd_micros + excluded.usd_micros <= (SELECT micros FROM budget)
  RETURNING to_char(month, 'YYYY-MM-DD') AS month`;

/**
 * A job's billed requests into the ledger, its cost onto its row, and its month's counter
 * corrected from what it reserved ($8) to what it was billed — one statement, one round trip.
 */
const SETTLE = `
  WITH led AS (
    INSERT INTO provider_requests (user_id, job_id, provider, sku, usd_micros, at)
    SELECT $1, $2, x.provider, x.sku, x.micros, x.at
      FROM unnest($3::text[], $4::text[], $5::bigint[], $6::timestamptz[]) AS x(provider, sku, micros, at)
    RETURNING usd_micros),
  tot AS (SELECT count(*)::int AS n, coalesce(sum(usd_micros), 0)::bigint AS micros FROM led),
  job AS (
    UPDATE scraper_jobs j SET cost_requests = j.cost_requests + tot.n,
                              cost_usd_micros = j.cost_usd_micros + tot.micros
      FROM tot WHERE j.id = $2)
  INSERT INTO user_spend_months AS s (user_id, month, usd_micros, requests)
  SELECT $1, $7::date, tot.micros - $8::bigint, tot.n FROM tot
  ON CONFLICT (user_id, month) DO UPDATE
    SET usd_micros = s.usd_micros + excluded.usd_micros, requests = s.requests + excluded.requests`;

const BUDGET_STATE = `
  SELECT u.role::text AS role, u.monthly_budget_usd::float8 AS own, coalesce(s.usd_micros, 0)::bigint AS used,
         coalesce(s.requests, 0)::int AS requests
    FROM users u
    LEFT JOIN user_spend_months s ON s.user_id = u.id AND s.month = $2::date
   WHERE u.id = $1`;

/**
 * Provider spend: prices, the ledger (`provider_requests`), each user's monthly counter
 * (`user_spend_months`) and budget. docs/scraper.md#cost describes the model.
 *
 * Money is integer micro-dollars throughout (a Text Search at $35/1000 is 35,000 µ$), shown
 * as USD numbers only at the edge.
 */
@Injectable()
export class SpendService {
  private readonly logger = new Logger(SpendService.name);
  private readonly prices: Record<BillingSku, number>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    this.prices = Object.fromEntries(
      Object.entries(config.spend.pricesUsdPer1000).map(([sku, per1000]) => [
        sku,
        // USD per 1,000 → micro-dollars per request: $35/1000 = 35,000 µ$.
        Math.round(per1000 * 1000),
      ]),
    ) as Record<BillingSku, number>;
  }

  /** What one request of this SKU costs, in micro-dollars. */
  priceMicros(sku: BillingSku): number {
    return this.prices[sku];
  }

  /**
   * Reserves `requests` requests of `sku` against the user's monthly budget, atomically: true
   * when they fit (and are now counted), false when they would cross it. Concurrent calls for
   * one user, from any process, never together exceed the budget.
   *
   * Call it before each billed request a running job is about to make (area coverage does);
   * a job records what it was billed through a `JobSpend`, whose `tryReserve` uses this and
   * whose `settle` reconciles reservations with the ledger.
   */
  async tryReserve(userId: string, sku: BillingSku, requests = 1): Promise<boolean> {
    return (await this.reserve(userId, this.priceMicros(sku) * requests)) !== null;
  }

  /** One job's spending: its meter, its reservations, its ledger rows. */
  forJob(job: { userId: string; jobId: string | null }): JobSpend {
    return new JobSpend(this, job.userId, job.jobId);
  }

  /** The user's month: budget in force, used, remaining, renewal. */
  async budget(userId: string, now = new Date()): Promise<BudgetState> {
    const month = monthStart(now);
    const [row] = await this.dataSource.query<
      Array<{ role: UserRole; own: number | null; used: string; requests: number }>
    >(BUDGET_STATE, [userId, month.toISOString().slice(0, 10)]);
    if (!row) throw new ResourceNotFoundError('User', userId);
    const roleDefault = this.config.spend.monthlyBudgetUsd[row.role];
    const limitUsd = row.own ?? roleDefault;
    const limitMicros = limitUsd === null ? null : Math.round(limitUsd * MICROS_PER_USD);
    const usedMicros = Number(row.used);
    return {
      userId,
      role: row.role,
      ownBudgetUsd: row.own,
      limitMicros,
      usedMicros,
      requests: row.requests,
      remainingMicros: limitMicros === null ? null : Math.max(limitMicros - usedMicros, 0),
      month,
      renewsAt: nextMonthStart(now),
    };
  }

  /**
   * Refuses (402) a job whose estimate could exceed what is left of the month. Not a
   * reservation: jobs reserve as they spend, so a job admitted here still stops at the budget.
   */
  async assertAffordable(
    userId: string,
    neededMicros: number,
    what = 'this search may cost up to',
  ): Promise<BudgetState> {
    const state = await this.budget(userId);
    if (state.remainingMicros !== null && neededMicros > state.remainingMicros) {
      throw new BudgetExceededError(
        `Monthly scraping budget: ${formatUsd(state.remainingMicros)} left of ${formatUsd(state.limitMicros!)}, ` +
          `and ${what} ${formatUsd(neededMicros)}. ` +
          `The budget renews on ${state.renewsAt.toISOString().slice(0, 10)} at 00:00 UTC (${state.renewsAt.toISOString()}).`,
      );
    }
    return state;
  }

  /** An admin sets one user's monthly budget in USD; null: back to the role's default. */
  async setBudget(userId: string, usd: number | null): Promise<BudgetState> {
    const [, updated] = await this.dataSource.query<[unknown, number]>(
      `UPDATE users SET monthly_budget_usd = $2, updated_at = now() WHERE id = $1`,
      [userId, usd],
    );
    if (!updated) throw new ResourceNotFoundError('User', userId);
    this.logger.log(
      `monthly budget of user ${userId} set to ${usd === null ? 'the role default' : `$${usd}`}`,
    );
    return this.budget(userId);
  }

  /** Spend since `since` (from the ledger): in total, per provider, and the top spenders. */
  async summary(since: Date): Promise<SpendSummary> {
    const q = <T>(sql: string) => this.dataSource.query<T>(sql, [since]);
    type Row = { requests: number; micros: string };
    const [byProvider, byUser] = await Promise.all([
      q<Array<Row & { provider: string }>>(
        `SELECT provider, count(*)::int AS requests, sum(usd_micros)::bigint AS micros
           FROM provider_requests WHERE at >= $1 GROUP BY provider ORDER BY provider`,
      ),
      q<Array<Row & { user_id: string; email: string }>>(
        `SELECT r.user_id, u.email, count(*)::int AS requests, sum(r.usd_micros)::bigint AS micros
           FROM provider_requests r JOIN users u ON u.id = r.user_id
          WHERE r.at >= $1 GROUP BY r.user_id, u.email
          ORDER BY sum(r.usd_micros) DESC, count(*) DESC, r.user_id LIMIT ${SPEND_STATS_TOP_USERS}`,
      ),
    ]);
    const totals = (row: Row): SpendTotals => ({
      requests: row.requests,
      usdMicros: Number(row.micros),
    });
    const providers = byProvider.map((row) => ({ provider: row.provider, ...totals(row) }));
    return {
      since,
      total: providers.reduce(
        (sum, p) => ({
          requests: sum.requests + p.requests,
          usdMicros: sum.usdMicros + p.usdMicros,
        }),
        { requests: 0, usdMicros: 0 },
      ),
      byProvider: providers,
      byUser: byUser.map((row) => ({ userId: row.user_id, email: row.email, ...totals(row) })),
    };
  }

  // ——— used by JobSpend ———

  /** Reserves `micros` within the budget; the month (YYYY-MM-DD) it was counted in, or null. */
  async reserve(userId: string, micros: number): Promise<string | null> {
    const defaults = this.config.spend.monthlyBudgetUsd;
    const micro = (usd: number | null) => (usd === null ? null : Math.round(usd * MICROS_PER_USD));
    const rows = await this.dataSource.query<Array<{ month: string }>>(RESERVE, [
      userId,
      micros,
      micro(defaults.user),
      micro(defaults.premium),
    ]);
    return rows[0]?.month ?? null;
  }

  async settle(
    userId: string,
    jobId: string | null,
    billed: ReadonlyArray<BilledRequest & { micros: number; at: Date }>,
    month: string,
    reservedMicros: number,
  ): Promise<void> {
    if (!billed.length && !reservedMicros) return;
    await this.dataSource.query(SETTLE, [
      userId,
      jobId,
      billed.map((b) => b.provider),
      billed.map((b) => b.sku),
      billed.map((b) => b.micros),
      billed.map((b) => b.at),
      month,
      reservedMicros,
    ]);
    for (const b of billed) {
      this.metrics.m.scraperBilledRequests.inc({ provider: b.provider, sku: b.sku });
      this.metrics.m.scraperSpendUsd.inc({ provider: b.provider, sku: b.sku }, toUsd(b.micros));
    }
  }
}

/**
 * What one job spends. `meter` goes to the provider client (`SearchOptions.meter`) and notes
 * each billed request; `hold`/`tryReserve` reserve budget before requests are made; `settle`
 * (once, in a `finally`) writes the ledger rows and corrects the month's counter from what was
 * reserved to what was billed. A job served from the cache or another job's call never
 * settles anything: it costs 0.
 */
export class JobSpend {
  private readonly billed: Array<BilledRequest & { micros: number; at: Date }> = [];
  private reservedMicros = 0;
  private month: string | null = null;

  constructor(
    private readonly spend: SpendService,
    readonly userId: string,
    readonly jobId: string | null,
  ) {}

  readonly meter: Meter = (request) => {
    this.billed.push({ ...request, micros: this.spend.priceMicros(request.sku), at: new Date() });
  };

  /** Reserves `requests` of `sku` at once (the most a query search makes); false: over budget. */
  async hold(sku: BillingSku, requests: number): Promise<boolean> {
    const micros = this.spend.priceMicros(sku) * requests;
    // A free request (the Python scraper by default, IDs-only searches) cannot cross a budget.
    if (micros === 0) return true;
    const month = await this.spend.reserve(this.userId, micros);
    if (month === null) return false;
    this.month ??= month;
    this.reservedMicros += micros;
    return true;
  }

  /** Reserves one request of `sku` (call it before each billed request); false: over budget. */
  tryReserve(sku: BillingSku): Promise<boolean> {
    return this.hold(sku, 1);
  }

  get requests(): number {
    return this.billed.length;
  }

  get provider(): ProviderName | undefined {
    return this.billed[0]?.provider;
  }

  /** Ledger rows for what was billed; the month's counter corrected to match. Idempotent. */
  async settle(): Promise<void> {
    const billed = this.billed.splice(0);
    const reserved = this.reservedMicros;
    this.reservedMicros = 0;
    const month = this.month ?? monthStart(new Date()).toISOString().slice(0, 10);
    await this.spend.settle(this.userId, this.jobId, billed, month, reserved);
  }
}
