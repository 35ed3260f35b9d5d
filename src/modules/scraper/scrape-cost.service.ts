import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '@app/config';
import {
  type BillingSku,
  GOOGLE_PLACES_FIELD_MASK,
  MAX_RESULTS_LIMIT,
  type ProviderName,
  textSearchSku,
} from '@app/google-maps';
import { type BudgetState, SpendService } from '../spend/spend.service.js';
import { BoundsDto, type CreateScrapeJobDto } from './dto/scraper.dto.js';
import type { AreaQuery } from './area/area-coverage.service.js';

/** One area's request: a job's body with at most one kecamatan. */
export type ScrapeAreaRequest = Omit<CreateScrapeJobDto, 'kecamatan'> & { kecamatan?: string };

/** A range of billed requests: exact when min = max, wider where the area's density is unknown. */
export interface RequestRange {
  min: number;
  max: number;
}

/** What area coverage expects to pay for an area, before it runs. */
export interface AreaEstimate {
  requests: RequestRange;
  /** Cells of the fixed tiling already cached (free). */
  cached_cells: number;
  /** Every cell cached: the job would cost nothing. */
  from_cache: boolean;
}

/** Estimates an area search (coverage "area"); area coverage provides the real one. */
export interface AreaEstimator {
  estimateArea(query: AreaQuery): Promise<AreaEstimate>;
}

/** DI token of the AreaEstimator used by the estimate endpoint and the budget check. */
export const AREA_ESTIMATOR = Symbol('AREA_ESTIMATOR');

/** Text Search pages are 20 places. */
const PAGE_SIZE = 20;

/** What one Text Search page of the scraper's field mask is billed as. */
export const TEXT_SEARCH_SKU: BillingSku = textSearchSku(GOOGLE_PLACES_FIELD_MASK);

/**
 * The SKU and request count of a query search (coverage "query") on `provider`: Google bills
 * each page of 20 (1–3 pages, fewer when the query has fewer places); the Python scraper
 * bills one search.
 */
export function querySearchCost(
  provider: ProviderName,
  maxResults: number,
): { sku: BillingSku; requests: RequestRange } {
  if (provider === 'python-api') return { sku: 'python_api.search', requests: { min: 1, max: 1 } };
  const pages = Math.ceil(Math.min(Math.max(maxResults, 1), MAX_RESULTS_LIMIT) / PAGE_SIZE);
  return { sku: TEXT_SEARCH_SKU, requests: { min: 1, max: pages } };
}

export interface ScrapeEstimate {
  coverage: 'query' | 'area';
  provider: ProviderName;
  sku: BillingSku;
  fromCache: boolean;
  cachedCells: number | null;
  requests: RequestRange;
  usdMicros: RequestRange;
}

/**
 * What a scrape would cost, and whether its user can pay for it. The price of each request
 * comes from the price table (SpendService); the request count from the query's pages or the
 * area estimator.
 */
@Injectable()
export class ScrapeCostService {
  constructor(
    private readonly spend: SpendService,
    private readonly config: AppConfig,
    @Inject(AREA_ESTIMATOR) private readonly areas: AreaEstimator,
  ) {}

  /**
   * One area's search on `provider` (the one routed to for the caller's role). `cached`: the
   * query's result is in the cache (query coverage; area coverage asks the estimator).
   */
  async estimate(
    dto: ScrapeAreaRequest & { max_results: number },
    cached: boolean,
    provider: ProviderName,
  ): Promise<ScrapeEstimate> {
    if (dto.coverage === 'area') {
      const area = await this.areas.estimateArea({
        ...dto,
        bounds: dto.bounds && BoundsDto.toBounds(dto.bounds),
      });
      return this.priced('area', provider, TEXT_SEARCH_SKU, area.requests, {
        fromCache: area.from_cache,
        cachedCells: area.cached_cells,
      });
    }
    const { sku, requests } = querySearchCost(provider, dto.max_results);
    return this.priced('query', provider, sku, cached ? { min: 0, max: 0 } : requests, {
      fromCache: cached,
      cachedCells: null,
    });
  }

  /**
   * 402 before anything is queued when what is left this month cannot pay for it: for a query
   * search, its most (it cannot stop half-way); for an area, its least — an area job that runs
   * into the budget stops there and ends `truncated` (reason `budget`), never over it.
   */
  async admit(userId: string, estimate: ScrapeEstimate): Promise<void> {
    if (estimate.coverage === 'area')
      await this.spend.assertAffordable(
        userId,
        estimate.usdMicros.min,
        'covering this area costs at least',
      );
    else await this.spend.assertAffordable(userId, estimate.usdMicros.max);
  }

  budget(userId: string): Promise<BudgetState> {
    return this.spend.budget(userId);
  }

  private priced(
    coverage: ScrapeEstimate['coverage'],
    provider: ProviderName,
    sku: BillingSku,
    requests: RequestRange,
    cache: { fromCache: boolean; cachedCells: number | null },
  ): ScrapeEstimate {
    const price = this.spend.priceMicros(sku);
    return {
      coverage,
      provider,
      sku,
      ...cache,
      requests,
      usdMicros: { min: requests.min * price, max: requests.max * price },
    };
  }
}

/** A batch's areas as one estimate: requests and prices summed, from the cache only if every area is. */
export function sumEstimates(estimates: ScrapeEstimate[]): ScrapeEstimate {
  const [first] = estimates;
  const add = (pick: (estimate: ScrapeEstimate) => RequestRange): RequestRange => ({
    min: estimates.reduce((sum, estimate) => sum + pick(estimate).min, 0),
    max: estimates.reduce((sum, estimate) => sum + pick(estimate).max, 0),
  });
  const cells = estimates.map((estimate) => estimate.cachedCells);
  return {
    ...first,
    fromCache: estimates.every((estimate) => estimate.fromCache),
    cachedCells: cells.some((n) => n !== null)
      ? cells.reduce<number>((sum, n) => sum + (n ?? 0), 0)
      : null,
    requests: add((estimate) => estimate.requests),
    usdMicros: add((estimate) => estimate.usdMicros),
  };
}
