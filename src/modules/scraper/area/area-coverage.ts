import {
  type AllowRequest,
  type Bounds,
  type Cell,
  type GeoPolygon,
  type Meter,
  type Place,
  type RectangleSearch,
  boundsContain,
  boundsOverlap,
  cellBounds,
  cellsCovering,
  children,
  polygonContains,
  searchBounds,
  startLevel,
} from '@app/google-maps';

/** A cell's search as cached: every place Google gave for it (in the area or not), and whether it was full. */
export interface CellResult {
  places: Place[];
  full: boolean;
  /** When it was searched (epoch ms). */
  at: number;
}

/** Where finished cells are kept, per normalised keyword: shared by every user and job. */
export interface CellStore {
  /**
   * The results of these tiles, undefined where unknown. A tile is also known from its whole
   * cell's result, or from an ancestor cell's result that was not full (its places are all
   * there is). Results older than `notBefore` (epoch ms) do not count.
   */
  get(keyword: string, tiles: Tile[], notBefore: number): Promise<Array<CellResult | undefined>>;
  set(keyword: string, tile: Tile, result: CellResult): Promise<void>;
}

/**
 * What is searched for a cell: the whole cell, or — where the cell sticks out of the area —
 * only its part inside the area's rectangle (`clip`). Whole cells are shared by every search
 * of the keyword; a clipped one only by searches of the same area (a retry, another user).
 */
export interface Tile {
  cell: Cell;
  bounds: Bounds;
  /** Set when `bounds` is less than the cell: part of the cache key. */
  clip: string | null;
}

/** One rectangle's Text Search (GooglePlacesClient.searchRectangle). */
export type RectangleSearcher = (
  keyword: string,
  bounds: Bounds,
  options: { signal?: AbortSignal; meter?: Meter; allowRequest: AllowRequest },
) => Promise<RectangleSearch>;

export type TruncatedReason = 'budget' | 'requests' | 'depth' | 'max_results';

export interface AreaToCover {
  bounds: Bounds;
  /** Places outside it are dropped (its bounding rectangle is `bounds`). */
  polygon?: GeoPolygon;
}

export interface CoverRequest {
  keyword: string;
  area: AreaToCover;
  /** Stop once this many distinct places of the area are found. */
  maxResults: number;
  /** Levels below the start cells a full cell may still be split into. */
  maxDepth: number;
  /** Billed requests this cover may make. */
  maxRequests: number;
  /** Cells searched at once. */
  concurrency: number;
  /** Cached cells older than this (epoch ms) are searched again (`refresh`: the job's creation time). */
  notBefore: number;
  signal?: AbortSignal;
  meter?: Meter;
  /** Asked before every billed request; false stops the cover (`truncated`, reason `budget`). */
  allowRequest?: AllowRequest;
  /** After each cell: cells done and known so far. */
  onProgress?: (rectangles: { done: number; known: number }) => Promise<void> | void;
}

export interface CoverResult {
  /** The area's distinct places (by Google place id), at most maxResults. */
  places: Place[];
  coverage: 'complete' | 'truncated';
  truncatedReason: TruncatedReason | null;
  /** Billed requests made by this cover. */
  requests: number;
  /** Cells searched or taken from the cache, and cells known (done + never reached). */
  rectangles: { done: number; known: number; cached: number };
}

/** The tile searched for a cell of an area: the cell, clipped to the area's rectangle where it sticks out. */
export function areaTile(cell: Cell, area: Bounds): Tile {
  const whole = searchBounds(cell);
  const bounds = {
    sw: { lat: Math.max(whole.sw.lat, area.sw.lat), lng: Math.max(whole.sw.lng, area.sw.lng) },
    ne: { lat: Math.min(whole.ne.lat, area.ne.lat), lng: Math.min(whole.ne.lng, area.ne.lng) },
  };
  const clipped =
    bounds.sw.lat !== whole.sw.lat ||
    bounds.sw.lng !== whole.sw.lng ||
    bounds.ne.lat !== whole.ne.lat ||
    bounds.ne.lng !== whole.ne.lng;
  return {
    cell,
    bounds,
    clip: clipped ? [bounds.sw.lat, bounds.sw.lng, bounds.ne.lat, bounds.ne.lng].join(',') : null,
  };
}

const placeKey = (place: Place) =>
  place.googlePlaceId ?? `${place.name}|${place.latitude}|${place.longitude}`;

/**
 * Covers an area with Text Search requests restricted to cells of the global grid
 * (`libs/google-maps/src/geo.ts`): the cells of the start level meeting the area, then, level
 * by level, the four children of every cell whose search came back full (Google's 60), until
 * none is full or the depth, the request budget or `allowRequest` stops it. Each finished cell
 * is stored (keyword + cell), so any other search of the same keyword over the same cells —
 * another user's, this job's retry — takes it without a request.
 */
export async function coverArea(
  request: CoverRequest,
  searcher: RectangleSearcher,
  store: CellStore,
): Promise<CoverResult> {
  const { area, keyword } = request;
  const inArea = (place: Place) => {
    if (place.latitude === null || place.longitude === null) return false;
    const point = { lat: place.latitude, lng: place.longitude };
    return (
      boundsContain(area.bounds, point) && (!area.polygon || polygonContains(area.polygon, point))
    );
  };
  const found = new Map<string, Place>();
  let requests = 0;
  let done = 0;
  let cached = 0;
  let reason: TruncatedReason | null = null;
  let depthReached = false;
  const stop = (why: TruncatedReason) => (reason ??= why);

  const start = startLevel(area.bounds);
  const tile = (cell: Cell) => areaTile(cell, area.bounds);
  let wave = cellsCovering(area.bounds, start).map(tile);
  let known = wave.length;

  const allowRequest: AllowRequest = async (sku) => {
    if (reason) return false;
    if (requests >= request.maxRequests) {
      stop('requests');
      return false;
    }
    // The slot is taken before the await: cells asking at once cannot overshoot the limit.
    requests++;
    if (request.allowRequest && !(await request.allowRequest(sku))) {
      requests--;
      stop('budget');
      return false;
    }
    return true;
  };

  const take = (result: CellResult) => {
    for (const place of result.places)
      if (inArea(place) && !found.has(placeKey(place))) found.set(placeKey(place), place);
    if (found.size >= request.maxResults) stop('max_results');
  };

  while (wave.length && !reason) {
    const results = await store.get(keyword, wave, request.notBefore);
    const next: Tile[] = [];
    const split = ({ cell }: Tile) => {
      // Not split: the other cells go on, the cover ends truncated.
      if (cell.z - start >= request.maxDepth) return void (depthReached = true);
      const inside = children(cell).filter((child) =>
        boundsOverlap(cellBounds(child), area.bounds),
      );
      next.push(...inside.map(tile));
      known += inside.length;
    };
    const finish = async (at: Tile, result: CellResult) => {
      done++;
      take(result);
      if (result.full) split(at);
      await request.onProgress?.({ done, known });
    };

    // Known tiles first: no request, and they may already reach max_results.
    const toSearch: Tile[] = [];
    for (const [i, at] of wave.entries()) {
      const result = results[i];
      if (result && !reason) {
        cached++;
        await finish(at, result);
      } else toSearch.push(at);
    }

    let cursor = 0;
    const worker = async () => {
      while (cursor < toSearch.length && !reason) {
        request.signal?.throwIfAborted();
        const at = toSearch[cursor++];
        const search = await searcher(keyword, at.bounds, {
          signal: request.signal,
          meter: request.meter,
          allowRequest,
        });
        const result: CellResult = { places: search.places, full: search.full, at: Date.now() };
        if (!search.finished) {
          // Refused mid-way: what it found counts, the cell is not done (nor stored).
          take(result);
          continue;
        }
        await store.set(keyword, at, result);
        await finish(at, result);
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(request.concurrency, toSearch.length) }, worker),
    );
    wave = next;
  }

  const places = [...found.values()].slice(0, request.maxResults);
  // Reaching max_results with nothing left to search is complete all the same.
  if (reason === 'max_results' && done === known) reason = null;
  if (!reason && depthReached) reason = 'depth';
  return {
    places,
    coverage: reason ? 'truncated' : 'complete',
    truncatedReason: reason,
    requests,
    rectangles: { done, known, cached },
  };
}
