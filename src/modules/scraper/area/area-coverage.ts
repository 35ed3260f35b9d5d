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
  /** It may hold more than `places`: its children hold the rest. */
  full: boolean;
  /**
   * Split without a search: its sampler's results predicted it full (`places` is empty). Read
   * like a full cell — every cover goes to its children — so that covers agree on the tree.
   */
  unsearched?: boolean;
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
  /**
   * Cells searched, taken from the cache or split without a search, and cells known (done +
   * never reached).
   */
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

/** Google's cap: a search answers at most this many places. */
const CAP = 60;
/**
 * A cell not yet searched is split without a search when its sampler's results predict at least
 * this many places in it (a conservative prediction, below): searching it would most likely come
 * back full and cost 3 requests its children repeat. Measured with `npm run bench:coverage:model`
 * (docs/scraper.md, Area coverage): 45 / 50 / 55 cost Menteng 1.91× / 1.89× / 2.01× the ideal.
 */
const SPLIT_UNSEARCHED_AT = 50;
/** Fewer of the sampler's results in a cell tell too little of its share to split it unsearched. */
const MIN_SAMPLED_TO_SPLIT = 8;
/** Sampled results in cells that were not full needed to trust their ratio for a sampler's count. */
const MIN_SAMPLED_FOR_RATIO = 10;

/** A tile of this cover: searched, taken from the cache, split unsearched, or still to do. */
interface CoverNode {
  tile: Tile;
  parent: CoverNode | null;
  children: CoverNode[];
  /** Looked up in the cache (one MGET per batch of new tiles). */
  looked: boolean;
  result?: CellResult;
}

/** A node whose places are a sample of its cell: searched (or cached) and full, with results. */
const isSampler = (node: CoverNode) =>
  !!node.result && node.result.full && !node.result.unsearched && node.result.places.length > 0;

/**
 * Covers an area with Text Search requests restricted to cells of the global grid
 * (`libs/google-maps/src/geo.ts`): the cells of the start level meeting the area, then the four
 * children of every cell whose search came back full (Google's 60), until none is full or the
 * depth, the request budget or `allowRequest` stops it. Each finished cell is stored (keyword +
 * cell), so any other search of the same keyword over the same cells — another user's, this
 * job's retry — takes it without a request.
 *
 * A full cell's 60 results are a sample of its places (Google's order is not spatial): they give
 * each part of the cell its share, never its count. Counts come from cells that were not full
 * (exact), and full ones bound them from below. Cells are searched in rounds, the sparsest
 * predicted first and one per sampled family at a time, so that a family's sparse cells, once
 * searched, tell whether its dense ones are full; a cell predicted full (`SPLIT_UNSEARCHED_AT`)
 * is split without a search, and stored as such (`unsearched`) so that every later cover goes
 * straight to its children. The decisions depend only on search results, never on timing.
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
  const node = (cell: Cell, parent: CoverNode | null): CoverNode => ({
    tile: areaTile(cell, area.bounds),
    parent,
    children: [],
    looked: false,
  });
  const roots = cellsCovering(area.bounds, start).map((cell) => node(cell, null));
  let pending: CoverNode[] = [...roots];
  let known = roots.length;

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
  const canSplit = (at: CoverNode) => at.tile.cell.z - start < request.maxDepth;
  const split = (at: CoverNode) => {
    // Not split: the other cells go on, the cover ends truncated.
    if (!canSplit(at)) return void (depthReached = true);
    at.children = children(at.tile.cell)
      .filter((child) => boundsOverlap(cellBounds(child), area.bounds))
      .map((child) => node(child, at));
    pending.push(...at.children);
    known += at.children.length;
  };
  const finish = async (at: CoverNode, result: CellResult) => {
    at.result = result;
    pending = pending.filter((other) => other !== at);
    done++;
    take(result);
    if (result.full) split(at);
    await request.onProgress?.({ done, known });
  };

  // The counts behind a split without a search (recomputed each round: results change them).
  let counts = new Map<CoverNode, number>();
  const sampler = (at: CoverNode): CoverNode | null => {
    let up = at.parent;
    while (up && !isSampler(up)) up = up.parent;
    return up;
  };
  // How many of a sampler's results lie in a tile: fixed once both exist, so kept.
  const shares = new Map<CoverNode, Map<CoverNode, number>>();
  const sampled = (from: CoverNode, at: CoverNode): number => {
    let inTiles = shares.get(from);
    if (!inTiles) shares.set(from, (inTiles = new Map()));
    let k = inTiles.get(at);
    if (k === undefined) {
      k = from.result!.places.filter(
        (p) =>
          p.latitude !== null &&
          p.longitude !== null &&
          boundsContain(at.tile.bounds, { lat: p.latitude, lng: p.longitude }),
      ).length;
      inTiles.set(at, k);
    }
    return k;
  };
  const below = (at: CoverNode): CoverNode[] =>
    at.children.flatMap((child) => [child, ...below(child)]);
  /** A sampler's places, estimated: at least 60 (it was full). */
  const count = (from: CoverNode): number => {
    const memo = counts.get(from);
    if (memo !== undefined) return memo;
    const size = from.result!.places.length;
    let exact = 0;
    let exactSampled = 0;
    let fullCount = 0;
    let fullSampled = 0;
    for (const at of below(from)) {
      if (!at.result || at.result.unsearched) continue;
      if (!at.result.full) {
        // Cells that were not full, at any depth: a ratio of known counts to sampled shares.
        exact += at.result.places.length;
        exactSampled += sampled(from, at);
      } else if (sampler(at) === from) {
        // Its own full cells: each holds at least its count, so the sampler at least
        // count / share, the share taken high (one standard deviation) to stay a lower bound.
        fullCount += count(at);
        fullSampled += sampled(from, at);
      }
    }
    let estimate = CAP;
    if (exactSampled >= MIN_SAMPLED_FOR_RATIO) estimate = (size * exact) / exactSampled;
    else if (fullCount) estimate = (size * fullCount) / (fullSampled + 1 + Math.sqrt(fullSampled));
    estimate = Math.max(CAP, estimate);
    counts.set(from, estimate);
    return estimate;
  };
  const predicted = (at: CoverNode, conservative = false): number => {
    const from = sampler(at);
    if (!from) return 0;
    const k = sampled(from, at);
    const share = conservative ? (k < MIN_SAMPLED_TO_SPLIT ? 0 : k - Math.sqrt(k)) : k;
    return (count(from) * share) / from.result!.places.length;
  };

  while (pending.length && !reason) {
    // 1. New tiles: from the cache where known (no request, no decision).
    const unlooked = pending.filter((at) => !at.looked);
    if (unlooked.length) {
      const results = await store.get(
        keyword,
        unlooked.map((at) => at.tile),
        request.notBefore,
      );
      for (const [i, at] of unlooked.entries()) {
        at.looked = true;
        // A cell another cover split unsearched, which this one may not split: searched.
        const result = results[i]?.unsearched && !canSplit(at) ? undefined : results[i];
        if (result && !reason) {
          cached++;
          await finish(at, result);
        }
      }
      continue;
    }
    // 2. Cells predicted full: split without a search, stored so later covers do the same.
    counts = new Map();
    const unsearched = pending.filter(
      (at) => canSplit(at) && predicted(at, true) >= SPLIT_UNSEARCHED_AT,
    );
    if (unsearched.length) {
      for (const at of unsearched) {
        const result: CellResult = { places: [], full: true, unsearched: true, at: Date.now() };
        await store.set(keyword, at.tile, result);
        await finish(at, result);
      }
      continue;
    }
    // 3. A round: the sparsest predicted first, one per sampled family, at most `concurrency`.
    const order = pending
      .map((at) => ({ at, family: sampler(at), predicted: predicted(at) }))
      .sort((a, b) => a.predicted - b.predicted);
    const families = new Set<CoverNode>();
    const round: CoverNode[] = [];
    for (const { at, family } of order) {
      if (round.length >= Math.max(1, request.concurrency)) break;
      if (family) {
        if (families.has(family)) continue;
        families.add(family);
      }
      round.push(at);
    }
    await Promise.all(
      round.map(async (at) => {
        if (reason) return;
        request.signal?.throwIfAborted();
        const search = await searcher(keyword, at.tile.bounds, {
          signal: request.signal,
          meter: request.meter,
          allowRequest,
        });
        const result: CellResult = { places: search.places, full: search.full, at: Date.now() };
        if (!search.finished) {
          // Refused mid-way: what it found counts, the cell is not done (nor stored).
          take(result);
          return;
        }
        await store.set(keyword, at.tile, result);
        await finish(at, result);
      }),
    );
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
