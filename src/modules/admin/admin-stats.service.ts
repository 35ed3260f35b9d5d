import { Injectable } from '@nestjs/common';
import { CRAWLER_JOB_STATUSES } from '../crawler/entities/crawler-job.entity.js';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SpendPeriodDto } from '../spend/dto/spend.dto.js';
import { dayStart, monthStart } from '../spend/spend.money.js';
import { SpendService } from '../spend/spend.service.js';
import { STATS_CACHE_WINDOW_HOURS } from './admin.constants.js';
import type { AdminStatsDto } from './dto/admin.dto.js';

type Counts = Array<{ key: string; n: number }>;

const byKey = (rows: Counts, keys: readonly string[] = []) => {
  const out: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
  for (const row of rows) out[row.key] = row.n;
  return out;
};
const withTotal = (counts: Record<string, number>) => ({
  ...counts,
  total: Object.values(counts).reduce((a, b) => a + b, 0),
});

@Injectable()
export class AdminStatsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly spend: SpendService,
  ) {}

  async stats(): Promise<AdminStatsDto> {
    const q = <T>(sql: string, params: unknown[] = []) => this.dataSource.query<T>(sql, params);
    const now = new Date();
    const [users, scraperJobs, crawlerJobs, [places], [cache], spentToday, spentMonth] =
      await Promise.all([
        q<Counts>(`SELECT role::text AS key, count(*)::int AS n FROM users GROUP BY role`),
        q<Counts>(
          `SELECT status::text AS key, count(*)::int AS n FROM scraper_jobs GROUP BY status`,
        ),
        q<Counts>(
          `SELECT status::text AS key, count(*)::int AS n FROM crawler_jobs GROUP BY status`,
        ),
        q<Array<{ total: number }>>(`SELECT count(*)::int AS total FROM google_map_places`),
        q<Array<{ lookups: number; hits: number }>>(
          `SELECT count(*) FILTER (WHERE NOT refresh)::int AS lookups, count(*) FILTER (WHERE cached)::int AS hits
           FROM scraper_jobs WHERE created_at > now() - make_interval(hours => $1)`,
          [STATS_CACHE_WINDOW_HOURS],
        ),
        this.spend.summary(dayStart(now)),
        this.spend.summary(monthStart(now)),
      ]);
    const byRole = byKey(users, ['user', 'premium', 'admin']);
    const { lookups, hits } = cache;
    return {
      users: { total: withTotal(byRole).total, by_role: byRole },
      jobs: {
        scraper: withTotal(byKey(scraperJobs, ['queued', 'processing', 'completed', 'failed'])),
        crawler: withTotal(byKey(crawlerJobs, CRAWLER_JOB_STATUSES)),
      },
      places: { total: places.total },
      cache: {
        window_hours: STATS_CACHE_WINDOW_HOURS,
        lookups,
        hits,
        misses: lookups - hits,
        hit_rate: lookups ? Math.round((hits / lookups) * 10_000) / 10_000 : null,
      },
      spend: { today: SpendPeriodDto.from(spentToday), month: SpendPeriodDto.from(spentMonth) },
    };
  }
}
