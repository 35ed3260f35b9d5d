/**
 * A synthetic city for the fake Places API: a few thousand places, dense in the centre and
 * sparse outside, the same for the same seed, with some places exactly on the edges (and
 * corners) of the global grid's cells, where two searched rectangles meet. Named areas
 * (kecamatan) have viewports sized to hold a given number of places.
 *
 * The grid is the one area coverage uses (libs/google-maps/src/geo.ts: cells of 360 / 2^z
 * degrees from -180°); the fake itself only knows rectangles, like Google.
 */
export interface CityPlace {
  id: string;
  /** 1-based, used in names. */
  seq: number;
  lat: number;
  lng: number;
  /** Google's "prominence": lower ranks are answered first. */
  rank: number;
}

export interface Rect {
  sw: { lat: number; lng: number };
  ne: { lat: number; lng: number };
}

export interface CityArea {
  id: string;
  kecamatan: string;
  location: string;
  viewport: Rect;
}

export interface CityOptions {
  seed?: number;
  centre?: { lat: number; lng: number };
  /** Places around the centre (normal, sigma `denseSigma` degrees). */
  dense?: number;
  denseSigma?: number;
  /** Places spread evenly over the square of ± `sparseRadius` degrees. */
  sparse?: number;
  sparseRadius?: number;
  /** Places put exactly on cell edges and corners (levels 11–18). */
  onEdges?: number;
  /** Areas: a centre offset (degrees) and the number of places their viewport should hold. */
  areas?: Array<{
    kecamatan: string;
    location: string;
    offset: { lat: number; lng: number };
    places: number;
  }>;
}

/** mulberry32: a tiny seeded PRNG, enough for fixtures. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const cellSize = (z: number) => 360 / 2 ** z;
const snap = (value: number, z: number) =>
  Math.round((value + 180) / cellSize(z)) * cellSize(z) - 180;

export const DEFAULT_CITY_AREAS: NonNullable<CityOptions['areas']> = [
  { kecamatan: 'Menteng', location: 'Jakarta Pusat', offset: { lat: 0, lng: 0 }, places: 2000 },
  {
    kecamatan: 'Tebet',
    location: 'Jakarta Selatan',
    offset: { lat: -0.025, lng: 0.02 },
    places: 400,
  },
  {
    kecamatan: 'Cilandak',
    location: 'Jakarta Selatan',
    offset: { lat: -0.09, lng: -0.08 },
    places: 60,
  },
];

export class SyntheticCity {
  readonly places: CityPlace[] = [];
  readonly areas: CityArea[] = [];

  constructor(options: CityOptions = {}) {
    const next = random(options.seed ?? 20261202);
    const centre = options.centre ?? { lat: -6.2, lng: 106.82 };
    const sigma = options.denseSigma ?? 0.012;
    const radius = options.sparseRadius ?? 0.12;
    const gaussian = () => {
      const u = Math.max(next(), 1e-12);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    };
    const add = (lat: number, lng: number) => {
      const seq = this.places.length + 1;
      this.places.push({
        id: `ChIJ-city-${String(seq).padStart(5, '0')}`,
        seq,
        lat,
        lng,
        rank: next(),
      });
    };
    for (let i = 0; i < (options.dense ?? 3200); i++)
      add(centre.lat + gaussian() * sigma, centre.lng + gaussian() * sigma);
    for (let i = 0; i < (options.sparse ?? 1500); i++)
      add(centre.lat + (next() * 2 - 1) * radius, centre.lng + (next() * 2 - 1) * radius);
    for (let i = 0; i < (options.onEdges ?? 240); i++) {
      const z = 11 + (i % 8);
      const lat = centre.lat + gaussian() * sigma * 2;
      const lng = centre.lng + gaussian() * sigma * 2;
      // A third on a parallel, a third on a meridian, a third on a corner.
      if (i % 3 === 0) add(snap(lat, z), lng);
      else if (i % 3 === 1) add(lat, snap(lng, z));
      else add(snap(lat, z), snap(lng, z));
    }
    for (const [i, area] of (options.areas ?? DEFAULT_CITY_AREAS).entries()) {
      const at = { lat: centre.lat + area.offset.lat, lng: centre.lng + area.offset.lng };
      // The smallest square around `at` holding the wanted number of places (bisection).
      let low = 0;
      let high = 1;
      for (let step = 0; step < 50; step++) {
        const half = (low + high) / 2;
        if (this.in(square(at, half)).length >= area.places) high = half;
        else low = half;
      }
      this.areas.push({
        id: `ChIJ-area-${i + 1}`,
        kecamatan: area.kecamatan,
        location: area.location,
        viewport: square(at, high),
      });
    }
  }

  /** The places in a closed rectangle, in Google's order (prominence). */
  in(rect: Rect): CityPlace[] {
    return this.places
      .filter(
        (p) =>
          p.lat >= rect.sw.lat &&
          p.lat <= rect.ne.lat &&
          p.lng >= rect.sw.lng &&
          p.lng <= rect.ne.lng,
      )
      .sort((a, b) => a.rank - b.rank);
  }

  /** Every place, in Google's order. */
  all(): CityPlace[] {
    return [...this.places].sort((a, b) => a.rank - b.rank);
  }

  area(kecamatan: string): CityArea {
    const found = this.areas.find((a) => a.kecamatan.toLowerCase() === kecamatan.toLowerCase());
    if (!found) throw new Error(`no area ${kecamatan} in the city`);
    return found;
  }

  /** The area a text query names: "Kecamatan Menteng, Jakarta Pusat" or "Menteng, Jakarta Pusat". */
  areaNamed(textQuery: string): CityArea | undefined {
    const fold = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').trim();
    const query = fold(textQuery).replace(/^kecamatan /, '');
    return this.areas.find((a) => fold(`${a.kecamatan}, ${a.location}`) === query);
  }
}

function square(at: { lat: number; lng: number }, half: number): Rect {
  return {
    sw: { lat: at.lat - half, lng: at.lng - half },
    ne: { lat: at.lat + half, lng: at.lng + half },
  };
}
