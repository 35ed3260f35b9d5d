import { Injectable } from '@nestjs/common';
import { RedisService } from '@app/common';
import { AppConfig, type QuotaBucket, type UserRole } from '@app/config';
import { QUOTA_BUCKETS, QUOTA_WINDOW_MS } from './rate-limit.constants.js';

// Atomic check-and-count of ARGV[3] units: a request over the limit is not counted at all
// (all or nothing), and no two processes can both take the last units.
const CONSUME = `
local units = tonumber(ARGV[3])
local used = redis.call('INCRBY', KEYS[1], units)
if used == units then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if used > tonumber(ARGV[1]) then
  redis.call('DECRBY', KEYS[1], units)
  return { 0, used - units }
end
return { 1, used }
`;
const REFUND = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used <= 0 then return 0 end
return redis.call('DECRBY', KEYS[1], math.min(used, tonumber(ARGV[1])))
`;

export interface QuotaState {
  bucket: QuotaBucket;
  /** `null`: unlimited. */
  limit: number | null;
  used: number;
  remaining: number | null;
  /** Seconds until the window resets. */
  resetSeconds: number;
  resetAt: Date;
}

export interface QuotaDecision extends QuotaState {
  allowed: boolean;
  /** Units the request asked for (1 unless the route counts more, e.g. one per area of a batch). */
  units: number;
  /** The Redis key counted, so the interceptor can refund a failed request. */
  key: string;
}

@Injectable()
export class QuotaService {
  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {}

  limitFor(bucket: QuotaBucket, role: UserRole): number | null {
    return this.config.quotas[bucket][role];
  }

  async consume(
    bucket: QuotaBucket,
    userId: string,
    role: UserRole,
    now = Date.now(),
    units = 1,
  ): Promise<QuotaDecision> {
    const window = this.window(now);
    const key = this.key(bucket, userId, window.start);
    const limit = this.limitFor(bucket, role);
    if (limit === null) {
      return {
        bucket,
        limit,
        used: 0,
        remaining: null,
        allowed: true,
        units,
        key,
        ...window.reset,
      };
    }
    const [allowed, used] = (await this.redis.client.eval(
      CONSUME,
      1,
      key,
      limit,
      QUOTA_WINDOW_MS + 60_000,
      units,
    )) as [number, number];
    return {
      bucket,
      limit,
      used,
      remaining: Math.max(limit - used, 0),
      allowed: allowed === 1,
      units,
      key,
      ...window.reset,
    };
  }

  /** Gives back the units taken by a request that then failed. */
  async refund(key: string, units = 1): Promise<void> {
    await this.redis.client.eval(REFUND, 1, key, units);
  }

  async status(userId: string, role: UserRole, now = Date.now()): Promise<QuotaState[]> {
    const window = this.window(now);
    const keys = QUOTA_BUCKETS.map((bucket) => this.key(bucket, userId, window.start));
    const counts = await this.redis.client.mget(...keys);
    return QUOTA_BUCKETS.map((bucket, index) => {
      const limit = this.limitFor(bucket, role);
      const used = Number(counts[index] ?? 0);
      return {
        bucket,
        limit,
        used,
        remaining: limit === null ? null : Math.max(limit - used, 0),
        ...window.reset,
      };
    });
  }

  private window(now: number) {
    const start = Math.floor(now / QUOTA_WINDOW_MS) * QUOTA_WINDOW_MS;
    const end = start + QUOTA_WINDOW_MS;
    return {
      start,
      reset: { resetSeconds: Math.max(Math.ceil((end - now) / 1000), 1), resetAt: new Date(end) },
    };
  }

  private key(bucket: QuotaBucket, userId: string, windowStart: number): string {
    return this.redis.key('quota', bucket, userId, windowStart);
  }
}
