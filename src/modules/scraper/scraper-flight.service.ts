import { Injectable, Logger } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { RedisFanout, RedisService, jobLog } from '@app/common';
import { AppConfig, type ProviderName } from '@app/config';
import {
  isProviderUnavailable,
  ProviderError,
  type Place,
  type PlacesProvider,
} from '@app/google-maps';
import { formatUsd } from '../spend/spend.money.js';
import { SpendService } from '../spend/spend.service.js';
import { querySearchCost } from './scrape-cost.service.js';
import { ScraperProviders } from './scraper-providers.service.js';
import { ScraperService } from './scraper.service.js';
import {
  SCRAPER_FLIGHT_KEY,
  SCRAPER_FLIGHT_RESULT_MIN_TTL_MS,
  SCRAPER_FLIGHT_WAIT_SLACK_MS,
  type ScrapeJobData,
} from './scraper.constants.js';

/**
 * The job's user cannot pay for the provider call any more (other jobs spent the month's budget
 * since this one was admitted). Final: a retry would be refused the same way.
 */
export class ScrapeBudgetExhaustedError extends Error {
  constructor(remainingMicros: number | null, renewsAt: Date) {
    super(
      `Monthly scraping budget used up by other jobs before this one ran (${formatUsd(remainingMicros ?? 0)} left); ` +
        `it renews on ${renewsAt.toISOString().slice(0, 10)} at 00:00 UTC`,
    );
    this.name = 'ScrapeBudgetExhaustedError';
  }
}

/** Where a job's places came from. */
export type FlightSource = 'cache' | 'provider' | 'shared';

export interface FlightOutcome {
  places: Place[];
  source: FlightSource;
  /** The provider whose answer it is (the fallback's, when the job's own was unavailable). */
  provider: ProviderName;
  /** Set when the job's own provider was unavailable: why, in its words. */
  fellBackFrom?: { provider: ProviderName; error: string };
}

/** What a leader leaves for its followers: `<flight key>:result:<token>`. */
interface FlightResult {
  maxResults: number;
  places: Place[];
}

/** Published on the flight's channel when its leader is done, whatever the outcome. */
interface FlightDone {
  token: string;
  ok: boolean;
}

/** Renews the lease only while this leader still holds it. */
const RENEW_LEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/** Releases the lease only if this leader still holds it (an expired lease may be another's by now). */
const RELEASE_LEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * Single flight for provider calls, across every worker process: identical queries (same
 * normalised cache key) in flight share one provider call.
 *
 * Per job: (1) the cache, unless the job is a refresh; (2) `SET lease token NX PX lease GET`
 * — the job that sets it leads: calls the provider (the ONE place a scrape job does), writes
 * the cache, then in one MULTI leaves the result for its followers, releases the lease and
 * publishes `done`; (3) a job that finds the lease held follows: it waits for `done` on the
 * flight's channel (or the lease to change hands or expire) and takes the leader's result. No
 * result (the leader failed or died) or too few places: back to (1) — one follower then leads.
 *
 * The lease lasts SCRAPER_LOCK_DURATION_MS and is renewed every third of it while the call
 * runs, so a leader that dies (SIGKILL) stops holding it within that time, as Bull recovers
 * its job within the same time. Each job still stores the places for its own user.
 *
 * Provider routing: a job searches with the provider routed to for its owner's role, under that
 * provider's cache key. If that provider is unavailable (unreachable, 5xx, 429 — see
 * isProviderUnavailable) and a fallback is configured, the same single flight runs again with
 * the fallback, under the fallback's key; the attempt fails only when both do (then Bull's
 * backoff retries it, starting with its own provider again).
 *
 * Cost per job (hot path of every worker): a cache GET; a lease SET NX. A leader adds a renewal
 * per lease/3, the cache SET and one MULTI, and — because it alone pays — two PostgreSQL
 * statements around the provider call: the budget reservation and the settlement of what was
 * billed (SpendService; nothing per page); a follower a SUBSCRIBE (shared per process), a
 * GET+PTTL per lease period waited and a GET of the result. Never add PostgreSQL work here, nor
 * anything per follower on the leader's side.
 */
@Injectable()
export class ScraperFlightService {
  private readonly logger = new Logger(ScraperFlightService.name);

  constructor(
    private readonly providers: ScraperProviders,
    private readonly scraper: ScraperService,
    private readonly redis: RedisService,
    private readonly fanout: RedisFanout,
    private readonly config: AppConfig,
    private readonly spend: SpendService,
  ) {}

  /** The places for a job's query, from its provider or else the fallback. */
  async search(data: ScrapeJobData, signal: AbortSignal): Promise<FlightOutcome> {
    const primary = this.providers.get(data.provider);
    // The carried key is the routed provider's; a job routed to a provider no longer configured
    // runs on SCRAPER_PROVIDER, under that one's key.
    const cacheKey =
      primary.name === (data.provider ?? primary.name)
        ? data.cacheKey
        : this.providers.cacheKey(data.keyword, data.location, data.kecamatan, primary.name);
    try {
      return await this.searchWith(primary, cacheKey, data, signal);
    } catch (error) {
      const fallback = this.providers.fallbackFor(primary.name);
      // The job's own timeout or shutdown is not the provider's fault: no fallback then.
      if (!fallback || signal.aborted || !isProviderUnavailable(error)) throw error;
      this.logger.warn(
        jobLog(
          data,
          `${primary.name} unavailable (${error.message}); falling back to ${fallback.name}`,
        ),
      );
      const key = this.providers.cacheKey(
        data.keyword,
        data.location,
        data.kecamatan,
        fallback.name,
      );
      try {
        const outcome = await this.searchWith(fallback, key, data, signal);
        return { ...outcome, fellBackFrom: { provider: primary.name, error: error.message } };
      } catch (fallbackError) {
        if (!(fallbackError instanceof ProviderError)) throw fallbackError;
        throw new ProviderError(
          `${error.message}; fallback ${fallback.name} failed too: ${fallbackError.message}`,
          fallbackError.retryable,
          fallbackError.status,
        );
      }
    }
  }

  /** The places for a query from one provider: its cache, another job's call in flight, or a call of its own. */
  private async searchWith(
    provider: PlacesProvider,
    cacheKey: string,
    data: ScrapeJobData,
    signal: AbortSignal,
  ): Promise<FlightOutcome> {
    const key = this.flightKey(cacheKey);
    const leaseMs = this.config.scraper.lockDurationMs;
    // Jobs queued before `refresh` was carried are treated as refreshes: never a stale answer.
    const useCache = data.refresh === false;
    for (;;) {
      signal.throwIfAborted();
      if (useCache) {
        const hit = await this.scraper.cachedPlaces(cacheKey, data.maxResults);
        if (hit) return { places: hit.places, source: 'cache', provider: provider.name };
      }
      const token = randomUUID();
      const holder = await this.redis.client.set(key, token, 'PX', leaseMs, 'NX', 'GET');
      if (holder === null) {
        const places = await this.lead(provider, cacheKey, data, key, token, signal);
        return { places, source: 'provider', provider: provider.name };
      }

      this.logger.log(jobLog(data, `following the provider call for "${data.keyword}" in flight`));
      const result = await this.follow(key, holder, signal);
      const places = result && this.enough(result, data.maxResults);
      if (places) return { places, source: 'shared', provider: provider.name };
      // The leader failed, died or asked for fewer places: look again, and lead if nobody does.
    }
  }

  /** The single place a scrape job calls the provider. */
  private async lead(
    provider: PlacesProvider,
    cacheKey: string,
    data: ScrapeJobData,
    key: string,
    token: string,
    signal: AbortSignal,
  ): Promise<Place[]> {
    const leaseMs = this.config.scraper.lockDurationMs;
    this.logger.log(
      jobLog(data, `leading the provider call for "${data.keyword}" (${provider.name})`),
    );
    const renew = setInterval(() => {
      this.redis.client
        .eval(RENEW_LEASE, 1, key, token, leaseMs)
        .then((held) => {
          if (held === 0) this.logger.warn(jobLog(data, `lost the flight lease of ${key}`));
        })
        .catch((error: Error) =>
          this.logger.warn(jobLog(data, `could not renew the flight lease: ${error.message}`)),
        );
    }, leaseMs / 3);
    renew.unref();
    let places: Place[] | undefined;
    // The job that calls the provider pays: it reserves the most the search can bill (the
    // budget can never be crossed by concurrent jobs), then settles what was actually billed.
    const spend = this.spend.forJob(data);
    try {
      const { sku, requests } = querySearchCost(provider.name, data.maxResults);
      if (!(await spend.hold(sku, requests.max))) {
        const budget = await this.spend.budget(data.userId);
        throw new ScrapeBudgetExhaustedError(budget.remainingMicros, budget.renewsAt);
      }
      places = await provider.search(
        {
          keyword: data.keyword,
          location: data.location,
          kecamatan: data.kecamatan,
          maxResults: data.maxResults,
        },
        { signal, meter: spend.meter },
      );
      // Before the lease goes: a job arriving after it must find the cache, not lead a second call.
      await this.scraper.cachePlaces(cacheKey, data.maxResults, places);
      return places;
    } finally {
      clearInterval(renew);
      await Promise.all([
        this.land(data, key, token, places),
        // A failed search is billed too (every page sent): recorded all the same.
        spend
          .settle()
          .catch((error: Error) =>
            this.logger.error(
              jobLog(data, `could not record its provider spend: ${error.message}`),
            ),
          ),
      ]);
    }
  }

  /**
   * Ends a flight in one round trip: the result for the followers (if any), the lease released,
   * `done` published. Best effort: if it fails, the followers move on once the lease expires.
   */
  private async land(
    data: ScrapeJobData,
    key: string,
    token: string,
    places?: Place[],
  ): Promise<void> {
    const done: FlightDone = { token, ok: places !== undefined };
    const multi = this.redis.client.multi();
    if (places) {
      const result: FlightResult = { maxResults: data.maxResults, places };
      multi.set(
        this.resultKey(key, token),
        JSON.stringify(result),
        'PX',
        Math.max(SCRAPER_FLIGHT_RESULT_MIN_TTL_MS, 2 * this.config.scraper.lockDurationMs),
      );
    }
    await multi
      .eval(RELEASE_LEASE, 1, key, token)
      .publish(key, JSON.stringify(done))
      .exec()
      .catch((error: Error) =>
        this.logger.warn(jobLog(data, `could not end the flight of ${key}: ${error.message}`)),
      );
  }

  /**
   * Waits until the flight led by `leader` is over — its `done` message, or the lease no longer
   * its own (released, or expired with a dead leader) — and returns its result, if it left one.
   */
  private async follow(
    key: string,
    leader: string,
    signal: AbortSignal,
  ): Promise<FlightResult | undefined> {
    let finished = false;
    let wake = () => {};
    const subscription = this.fanout.subscribe<FlightDone>(key, {
      message: (done) => {
        if (done.token !== leader) return;
        finished = true;
        wake();
      },
      // Messages may have been lost while the subscriber was away: look at the lease again.
      reconnected: () => wake(),
    });
    try {
      // Subscribed before looking at the lease, so a `done` published after the look is heard.
      await subscription.ready;
      while (!finished) {
        const [[, holder], [, ttl]] = (await this.redis.client
          .multi()
          .get(key)
          .pttl(key)
          .exec()) as [[unknown, string | null], [unknown, number]];
        if (holder !== leader) break;
        const waitMs = (ttl > 0 ? ttl : 0) + SCRAPER_FLIGHT_WAIT_SLACK_MS;
        await new Promise<void>((resolve, reject) => {
          const done = () => {
            clearTimeout(timer);
            signal.removeEventListener('abort', aborted);
            resolve();
          };
          const aborted = () => {
            clearTimeout(timer);
            reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
          };
          const timer = setTimeout(done, waitMs);
          wake = done;
          signal.addEventListener('abort', aborted, { once: true });
          if (signal.aborted) aborted();
          else if (finished) done();
        });
        signal.throwIfAborted();
      }
      const raw = await this.redis.client.get(this.resultKey(key, leader));
      return raw ? (JSON.parse(raw) as FlightResult) : undefined;
    } finally {
      subscription.unsubscribe();
    }
  }

  /** The leader's places, if they answer this job's max_results. */
  private enough(result: FlightResult, maxResults: number): Place[] | undefined {
    // Asked for more than the leader: enough only if the provider had no more to give.
    if (maxResults > result.maxResults && result.places.length >= result.maxResults)
      return undefined;
    return result.places.slice(0, maxResults);
  }

  /** The lease key, also the channel: `<prefix>:scraper:flight:<sha256 of the cache key>`. */
  private flightKey(cacheKey: string): string {
    return this.redis.key(
      SCRAPER_FLIGHT_KEY,
      createHash('sha256').update(cacheKey).digest('hex').slice(0, 40),
    );
  }

  private resultKey(key: string, token: string): string {
    return `${key}:result:${token}`;
  }
}
