/**
 * Rectangles and the one global grid that area coverage searches in.
 *
 * The grid: at level z the map is cut into square cells of 360 / 2^z degrees, counted from
 * (-180°, -180°) — so level 0 is one cell holding the whole map and each cell's four children
 * are its quarters. Every edge is a multiple of a power-of-two fraction of 360, which a double
 * holds exactly: two neighbours share one edge value, and a point on it is in both (Google's
 * rectangles are closed). Rows south of -90° or north of 90° are never searched.
 *
 * Hand-written rather than a GIS library: the whole need is this grid, a closed-rectangle test
 * and an even-odd point-in-polygon (a few dozen lines), with no projection or geodesy.
 */
export interface LatLng {
  lat: number;
  lng: number;
}

/** A closed rectangle: south-west and north-east corners, `sw.lng ≤ ne.lng` (never across ±180°). */
export interface Bounds {
  sw: LatLng;
  ne: LatLng;
}

/** A GeoJSON Polygon: rings of `[lng, lat]` positions, each closed (first = last); rings after the first are holes. */
export interface GeoPolygon {
  type: 'Polygon';
  coordinates: number[][][];
}

/** One cell of the grid. */
export interface Cell {
  z: number;
  x: number;
  y: number;
}

/** The finest level the grid goes to (cells of ~0.3 m): far below any useful depth. */
export const MAX_CELL_LEVEL = 30;

/** Edge length of a cell at level z, in degrees. */
export const cellSize = (z: number): number => 360 / 2 ** z;

export const cellKey = (cell: Cell): string => `${cell.z}/${cell.x}/${cell.y}`;

export function cellBounds({ z, x, y }: Cell): Bounds {
  const size = cellSize(z);
  return {
    sw: { lat: y * size - 180, lng: x * size - 180 },
    ne: { lat: (y + 1) * size - 180, lng: (x + 1) * size - 180 },
  };
}

/** The rectangle sent to Google: the cell, its latitudes kept within ±90°. */
export function searchBounds(cell: Cell): Bounds {
  const b = cellBounds(cell);
  return {
    sw: { lat: Math.max(b.sw.lat, -90), lng: b.sw.lng },
    ne: { lat: Math.min(b.ne.lat, 90), lng: b.ne.lng },
  };
}

export function children({ z, x, y }: Cell): Cell[] {
  return [
    { z: z + 1, x: 2 * x, y: 2 * y },
    { z: z + 1, x: 2 * x + 1, y: 2 * y },
    { z: z + 1, x: 2 * x, y: 2 * y + 1 },
    { z: z + 1, x: 2 * x + 1, y: 2 * y + 1 },
  ];
}

/** The cell's ancestors, nearest first, up to level 0. */
export function ancestors({ z, x, y }: Cell): Cell[] {
  const out: Cell[] = [];
  for (let level = z - 1; level >= 0; level--) {
    const shift = z - level;
    out.push({ z: level, x: Math.floor(x / 2 ** shift), y: Math.floor(y / 2 ** shift) });
  }
  return out;
}

/**
 * The coarsest level at which `bounds` spans at most two cells each way: where a search of an
 * area starts. A fixed rule, so the same area always starts from the same cells.
 */
export function startLevel(bounds: Bounds): number {
  const extent = Math.max(bounds.ne.lat - bounds.sw.lat, bounds.ne.lng - bounds.sw.lng);
  if (extent <= 0) return MAX_CELL_LEVEL;
  return Math.max(0, Math.min(MAX_CELL_LEVEL, Math.floor(Math.log2(360 / extent))));
}

/** The cells of level z whose inside meets `bounds` (a cell touching it only along an edge is left out). */
export function cellsCovering(bounds: Bounds, z: number): Cell[] {
  const size = cellSize(z);
  const span = (low: number, high: number) => {
    const first = Math.floor((low + 180) / size);
    const last = Math.max(first, Math.ceil((high + 180) / size) - 1);
    return [first, last] as const;
  };
  const [x0, x1] = span(bounds.sw.lng, bounds.ne.lng);
  const [y0, y1] = span(bounds.sw.lat, bounds.ne.lat);
  const cells: Cell[] = [];
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) cells.push({ z, x, y });
  return cells;
}

/** Closed: a point on an edge is inside. */
export function boundsContain(bounds: Bounds, point: LatLng): boolean {
  return (
    point.lat >= bounds.sw.lat &&
    point.lat <= bounds.ne.lat &&
    point.lng >= bounds.sw.lng &&
    point.lng <= bounds.ne.lng
  );
}

/** Whether the insides of two rectangles meet (sharing only an edge does not count). */
export function boundsOverlap(a: Bounds, b: Bounds): boolean {
  return a.sw.lat < b.ne.lat && b.sw.lat < a.ne.lat && a.sw.lng < b.ne.lng && b.sw.lng < a.ne.lng;
}

/** The bounding rectangle of a polygon's outer ring. */
export function polygonBounds(polygon: GeoPolygon): Bounds {
  const ring = polygon.coordinates[0];
  const lngs = ring.map(([lng]) => lng);
  const lats = ring.map(([, lat]) => lat);
  return {
    sw: { lat: Math.min(...lats), lng: Math.min(...lngs) },
    ne: { lat: Math.max(...lats), lng: Math.max(...lngs) },
  };
}

/** Even-odd rule over every ring (holes cut out); a point on an edge counts as inside. */
export function polygonContains(polygon: GeoPolygon, point: LatLng): boolean {
  let inside = false;
  for (const ring of polygon.coordinates) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if (onSegment(point, xi, yi, xj, yj)) return true;
      if (yi > point.lat !== yj > point.lat) {
        const x = ((xj - xi) * (point.lat - yi)) / (yj - yi) + xi;
        if (point.lng < x) inside = !inside;
      }
    }
  }
  return inside;
}

function onSegment(p: LatLng, x1: number, y1: number, x2: number, y2: number): boolean {
  const cross = (p.lng - x1) * (y2 - y1) - (p.lat - y1) * (x2 - x1);
  if (Math.abs(cross) > 1e-12) return false;
  return (
    p.lng >= Math.min(x1, x2) &&
    p.lng <= Math.max(x1, x2) &&
    p.lat >= Math.min(y1, y2) &&
    p.lat <= Math.max(y1, y2)
  );
}

/** What is wrong with a GeoJSON polygon, one message per problem (empty: valid). */
export function polygonProblems(value: unknown): string[] {
  const polygon = value as Partial<GeoPolygon> | null;
  if (!polygon || typeof polygon !== 'object' || polygon.type !== 'Polygon')
    return ['polygon must be a GeoJSON Polygon ({"type": "Polygon", "coordinates": [...]})'];
  if (!Array.isArray(polygon.coordinates) || polygon.coordinates.length === 0)
    return ['polygon.coordinates must hold at least one ring'];
  if (polygon.coordinates.length > 20) return ['polygon must have at most 20 rings'];
  const problems: string[] = [];
  polygon.coordinates.forEach((ring, r) => {
    const where = `polygon.coordinates[${r}]`;
    if (!Array.isArray(ring) || ring.length < 4 || ring.length > 1000) {
      problems.push(`${where} must be a ring of 4 to 1000 positions`);
      return;
    }
    const bad = ring.findIndex(
      (position) =>
        !Array.isArray(position) ||
        position.length < 2 ||
        !position.every((n) => typeof n === 'number' && Number.isFinite(n)) ||
        Math.abs(position[0]) > 180 ||
        Math.abs(position[1]) > 90,
    );
    if (bad !== -1) {
      problems.push(`${where}[${bad}] must be [longitude (-180–180), latitude (-90–90)]`);
      return;
    }
    const [first, last] = [ring[0], ring[ring.length - 1]];
    if (first[0] !== last[0] || first[1] !== last[1])
      problems.push(`${where} is not closed: its last position must repeat its first`);
  });
  return problems;
}

/** What is wrong with a bounds object (empty: valid). */
export function boundsProblems(bounds: Bounds): string[] {
  const problems: string[] = [];
  if (bounds.sw.lat > bounds.ne.lat)
    problems.push('bounds.south_west.lat must not be north of bounds.north_east.lat');
  if (bounds.sw.lng > bounds.ne.lng)
    problems.push(
      'bounds.south_west.lng must not be east of bounds.north_east.lng (an area across ±180° is not supported)',
    );
  if (bounds.sw.lat === bounds.ne.lat || bounds.sw.lng === bounds.ne.lng)
    problems.push('bounds must have an area (south-west and north-east differ in lat and lng)');
  return problems;
}
