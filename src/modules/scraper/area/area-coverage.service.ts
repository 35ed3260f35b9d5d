import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { jobLog, RedisService } from '@app/common';
import { AppConfig } from '@app/config';
import {
  type Bounds,
  type GeoPolygon,
  type GooglePlacesClient,
  ProviderError,
  cellsCovering,
  children,
  startLevel,
  boundsOverlap,
  cellBounds,
  polygonBounds,
} from '@app/google-maps';
import { normalizeQueryPart } from '../scraper.cache-key.js';
import {
  AREA_SEARCH_CLIENT,
  AREA_VIEWPORT_KEY,
  type AreaSpec,
  type ScrapeJobData,
} from '../scraper.constants.js';
import { AreaCellStore } from './area-cell.store.js';
import { areaTile, coverArea, type CoverResult, type Tile } from './area-coverage.js';
import { ScraperRequestGate, type JobGate } from './scraper-request.gate.js';

/** What an area question is, before it is a job: the body of `POST /api/scraper/jobs`. */
export interface AreaQuery {
  keyword: string;
  location: string;
  kecamatan?: string | null;
  bounds?: Bounds;
  polygon?: GeoPolygon;
  refresh?: boolean;
}

/** What covering an area will take (POST /api/scraper/estimate). */
export interface AreaEstimate {
  /** Billed requests: `min` if the area is sparse, `max` as its depth and request limits allow. */
  requests: { min: number; max: number };
  /** Cells of the area already in the cache. */
  cached_cells: number;
  /** Every cell (and the area's viewport) is cached: the job would make no billed request. */
  from_cache: boolean;
}

export interface AreaCoverResult extends CoverResult {
  /** The area that was covered (resolved or given). */
  bounds: Bounds | null;
}

/**
 * Area coverage (`coverage: "area"`): resolves the area (a kecamatan's viewport through the
 * Places API, cached; or the given bounds / polygon), covers it with the grid engine
 * (`area-coverage.ts`) over the shared cell cache, and estimates what that will cost.
 */
@Injectable()
export class AreaCoverageService {
  private readonly logger = new Logger(AreaCoverageService.name);

  constructor(
    @Inject(AREA_SEARCH_CLIENT) private readonly client: GooglePlacesClient | null,
    private readonly cells: AreaCellStore,
    private readonly redis: RedisService,
    private readonly config: AppConfig,
    private readonly gate: ScraperRequestGate,
  ) {}

  /** Whether this deployment can cover areas (Google Places configured). */
  get available(): boolean {
    return this.client !== null;
  }

  /** The area spec a job carries: bounds, or a polygon and its bounding rectangle; none for a kecamatan. */
  static spec(query: Pick<AreaQuery, 'bounds' | 'polygon'>): AreaSpec | undefined {
    if (query.polygon) return { bounds: polygonBounds(query.polygon), polygon: query.polygon };
    if (query.bounds) return { bounds: query.bounds };
    return undefined;
  }

  /** Covers a job's area; every billed request goes through the gate's `allowRequest` and `meter`. */
  async cover(
    data: ScrapeJobData,
    signal: AbortSignal,
    onProgress?: (rectangles: { done: number; known: number }) => Promise<void> | void,
  ): Promise<AreaCoverResult> {
    const client = this.requireClient();
    const { allowRequest, meter, settle } = this.gate.forJob(data);
    try {
      return await this.coverWith(client, data, signal, { allowRequest, meter }, onProgress);
    } finally {
      await settle?.();
    }
  }

  private async coverWith(
    client: GooglePlacesClient,
    data: ScrapeJobData,
    signal: AbortSignal,
    { allowRequest, meter }: Pick<JobGate, 'allowRequest' | 'meter'>,
    onProgress?: (rectangles: { done: number; known: number }) => Promise<void> | void,
  ): Promise<AreaCoverResult> {
    const notBefore = data.refresh ? (data.requestedAt ?? Date.now()) : 0;
    let spec = data.area;
    let resolveRequests = 0;
    if (!spec) {
      const cached = await this.cachedViewport(data);
      if (cached) spec = { bounds: cached };
      else {
        if (allowRequest && !(await allowRequest('places.text_search.pro'))) {
          return {
            places: [],
            coverage: 'truncated',
            truncatedReason: 'budget',
            requests: 0,
            rectangles: { done: 0, known: 0, cached: 0 },
            bounds: null,
          };
        }
        resolveRequests = 1;
        const text = AreaCoverageService.areaText(data);
        const area = await client.resolveArea(text, { signal, meter });
        if (!area)
          throw new ProviderError(
            `Google Places knows no area "${text}" (or gives it no viewport); send bounds or a polygon instead`,
            false,
          );
        await this.cacheViewport(data, area.viewport);
        this.logger.log(jobLog(data, `resolved "${text}" to its viewport`));
        spec = { bounds: area.viewport };
      }
    }
    const area = spec;
    const result = await coverArea(
      {
        keyword: data.keyword,
        area,
        maxResults: data.maxResults,
        maxDepth: this.config.scraper.area.maxDepth,
        maxRequests: this.config.scraper.area.maxRequests - resolveRequests,
        concurrency: this.config.scraper.area.concurrency,
        notBefore,
        signal,
        meter,
        allowRequest,
        onProgress,
      },
      (keyword, bounds, options) => client.searchRectangle(keyword, bounds, options),
      this.cells,
    );
    return { ...result, requests: result.requests + resolveRequests, bounds: area.bounds };
  }

  /**
   * What covering this area would take, read from the cache alone (no billed request): the
   * cached cells are walked as the job would walk them; each cell not cached costs at least one
   * request, and at most three per cell of its subtree down to the depth limit, all within the
   * request limit.
   */
  async estimateArea(query: AreaQuery): Promise<AreaEstimate> {
    const { maxDepth, maxRequests } = this.config.scraper.area;
    const spec =
      AreaCoverageService.spec(query) ??
      (await this.cachedViewport(query).then((bounds) => (bounds ? { bounds } : undefined)));
    if (!spec) {
      // The viewport is unknown: one request resolves it, then at least one cell.
      return { requests: { min: 2, max: maxRequests }, cached_cells: 0, from_cache: false };
    }
    const notBefore = query.refresh ? Date.now() : 0;
    const start = startLevel(spec.bounds);
    const tile = (cell: Tile['cell']): Tile => areaTile(cell, spec.bounds);
    let wave = cellsCovering(spec.bounds, start).map(tile);
    let cached = 0;
    let min = 0;
    let max = 0;
    while (wave.length) {
      const results = await this.cells.get(query.keyword, wave, notBefore);
      const next: Tile[] = [];
      for (const [i, at] of wave.entries()) {
        const depthLeft = maxDepth - (at.cell.z - start);
        // As the cover: a cell split unsearched by another cover is searched where it cannot split.
        const result = results[i]?.unsearched && depthLeft <= 0 ? undefined : results[i];
        if (!result) {
          min += 1;
          // Three pages for each cell of a full quadtree below it (4^(d+1) - 1) / 3 cells.
          max += 3 * ((4 ** (Math.min(depthLeft, 12) + 1) - 1) / 3);
          continue;
        }
        cached++;
        if (result.full && depthLeft > 0)
          next.push(
            ...children(at.cell)
              .filter((child) => boundsOverlap(cellBounds(child), spec.bounds))
              .map(tile),
          );
      }
      wave = next;
    }
    return {
      requests: { min: Math.min(min, maxRequests), max: Math.min(max, maxRequests) },
      cached_cells: cached,
      from_cache: min === 0,
    };
  }

  /** "Kecamatan Tebet, Jakarta Selatan" (or the location alone). */
  static areaText(query: Pick<AreaQuery, 'location' | 'kecamatan'>): string {
    return query.kecamatan ? `Kecamatan ${query.kecamatan}, ${query.location}` : query.location;
  }

  private requireClient(): GooglePlacesClient {
    if (!this.client)
      throw new ProviderError(
        'coverage "area" needs the google-places provider (SCRAPER_PROVIDER=google-places)',
        false,
      );
    return this.client;
  }

  private viewportKey(query: Pick<AreaQuery, 'location' | 'kecamatan'>): string {
    const name = `${normalizeQueryPart(query.location)}|${normalizeQueryPart(query.kecamatan)}`;
    return this.redis.key(
      AREA_VIEWPORT_KEY,
      createHash('sha256').update(name).digest('hex').slice(0, 32),
    );
  }

  private async cachedViewport(
    query: Pick<AreaQuery, 'location' | 'kecamatan'>,
  ): Promise<Bounds | undefined> {
    try {
      const raw = await this.redis.client.get(this.viewportKey(query));
      return raw ? (JSON.parse(raw) as Bounds) : undefined;
    } catch (error) {
      this.logger.warn(`could not read a cached viewport: ${(error as Error).message}`);
      return undefined;
    }
  }

  private async cacheViewport(
    query: Pick<AreaQuery, 'location' | 'kecamatan'>,
    bounds: Bounds,
  ): Promise<void> {
    await this.redis.client
      .set(
        this.viewportKey(query),
        JSON.stringify(bounds),
        'PX',
        this.config.scraper.area.viewportTtlMs,
      )
      .catch((error: Error) => this.logger.warn(`could not cache a viewport: ${error.message}`));
  }
}
