/**
 * bench:coverage:model — the area cover's request counts in one second, without the services.
 *
 * Runs the real engine (src/modules/scraper/area/area-coverage.ts `coverArea`) in process over
 * the fake city (test/fakes/places-city.ts), searched as the fake Places API answers (closed
 * rectangles, prominence order, pages of 20, 60 at most), with an in-memory cell store
 * (test/fakes/area-cover-memory.ts). For the
 * kecamatan Menteng it gives the same billed requests as `npm run bench:coverage` (which adds the
 * viewport request), so a split rule can be tried here first. Beside the engine it prints two
 * bounds computed from the same tree of cells:
 *   - `oracle`: only the start cells and the cells that are not full are searched — what a split
 *     rule that always knew in advance which cells are full would pay (no rule can do better);
 *   - `ids probe`: every cell is first counted with a free Text Search Essentials (IDs only)
 *     request chain, and only the cells that are not full are fetched with the Pro field mask:
 *     paid requests, and all requests (free + paid).
 * Then, over one shared store: Menteng, the same again, a smaller area inside it, and one
 * overlapping it (what each pays after the ones before).
 *
 *   npm run bench:coverage:model             # the default city
 *   npm run bench:coverage:model -- 1 2 3    # also cities of other seeds
 */
import {
  type Bounds,
  boundsOverlap,
  cellBounds,
  cellsCovering,
  children,
  startLevel,
} from '@app/google-maps';
import {
  type CellStore,
  areaTile,
  coverArea,
} from '../../src/modules/scraper/area/area-coverage.js';
import { MemoryCellStore, citySearcher } from '../../test/fakes/area-cover-memory.js';
import { SyntheticCity } from '../../test/fakes/places-city.js';

const PAGE = 20;
const CAP = 60;

async function engine(
  city: SyntheticCity,
  bounds: Bounds,
  store: CellStore = new MemoryCellStore(),
) {
  const counter = { billed: 0 };
  const result = await coverArea(
    {
      keyword: 'kopi',
      area: { bounds },
      maxResults: 30_000,
      maxDepth: 8,
      maxRequests: 5_000,
      concurrency: 4,
      notBefore: 0,
    },
    citySearcher(city, counter),
    store,
  );
  const found = new Set(result.places.map((p) => p.googlePlaceId));
  const missing = city.in(bounds).filter((p) => !found.has(p.id)).length;
  return { requests: counter.billed, missing, coverage: result.coverage };
}

/** The same quadtree walked from the city itself: pages of full cells and of the others. */
function tree(city: SyntheticCity, area: Bounds) {
  let wave = cellsCovering(area, startLevel(area));
  let fullPages = 0;
  let leafPages = 0;
  let startFullPages = 0;
  let first = true;
  while (wave.length) {
    const next = [];
    for (const cell of wave) {
      const n = city.in(areaTile(cell, area).bounds).length;
      const pages = Math.max(1, Math.ceil(Math.min(n, CAP) / PAGE));
      if (n < CAP) leafPages += pages;
      else {
        fullPages += pages;
        if (first) startFullPages += pages;
        next.push(...children(cell).filter((child) => boundsOverlap(cellBounds(child), area)));
      }
    }
    first = false;
    wave = next;
  }
  return { fullPages, leafPages, startFullPages };
}

const square = (lat: number, lng: number, half: number): Bounds => ({
  sw: { lat: lat - half, lng: lng - half },
  ne: { lat: lat + half, lng: lng + half },
});

const seeds = [20261202, ...process.argv.slice(2).map(Number).filter(Number.isFinite)];
for (const seed of seeds) {
  const city = new SyntheticCity({ seed });
  console.log(`city seed ${seed} (requests per area; ratio = (requests + 1 viewport) / ideal)`);
  const areas: Array<[string, Bounds]> = [
    ...city.areas.map((a) => [a.kecamatan, a.viewport] as [string, Bounds]),
    ['sparse 0.1°', square(-6.13, 106.89, 0.05)],
    ['centre 0.01°', square(-6.2, 106.82, 0.005)],
    ['whole city', square(-6.2, 106.82, 0.13)],
  ];
  for (const [name, bounds] of areas) {
    const places = city.in(bounds).length;
    const ideal = Math.max(1, Math.ceil(places / PAGE));
    const ratio = (requests: number) => `${((requests + 1) / ideal).toFixed(2)}×`;
    const run = await engine(city, bounds);
    const t = tree(city, bounds);
    // The start cells are searched whatever the rule; below them only the cells not full.
    const oracle = t.leafPages + t.startFullPages;
    const probeFree = t.fullPages + t.leafPages;
    console.log(
      [
        `  ${name.padEnd(13)} ${String(places).padStart(5)} places`,
        `engine ${String(run.requests).padStart(4)} ${ratio(run.requests).padStart(6)}${run.missing ? ` MISSING ${run.missing}` : ''} ${run.coverage}`,
        `oracle ${ratio(oracle).padStart(6)}`,
        `ids probe: paid ${ratio(t.leafPages).padStart(6)}, all ${ratio(probeFree + t.leafPages).padStart(6)}`,
      ].join(' | '),
    );
  }
}

const city = new SyntheticCity();
const menteng = city.area('Menteng').viewport;
const width = menteng.ne.lng - menteng.sw.lng;
const shared = new MemoryCellStore();
console.log('one shared cell store (requests each pays after the ones before)');
for (const [name, bounds] of [
  ['Menteng', menteng],
  ['Menteng again', menteng],
  [
    'inside Menteng',
    {
      sw: { lat: menteng.sw.lat + width / 3, lng: menteng.sw.lng + width / 5 },
      ne: { lat: menteng.ne.lat - width / 4, lng: menteng.ne.lng - width / 3 },
    },
  ],
  [
    'overlapping',
    {
      sw: { lat: menteng.sw.lat + width / 2, lng: menteng.sw.lng + width / 2 },
      ne: { lat: menteng.ne.lat + width / 2, lng: menteng.ne.lng + width / 2 },
    },
  ],
] as Array<[string, Bounds]>) {
  const run = await engine(city, bounds, shared);
  console.log(
    `  ${name.padEnd(15)} ${String(city.in(bounds).length).padStart(5)} places | requests ${run.requests}${run.missing ? ` MISSING ${run.missing}` : ''} ${run.coverage}`,
  );
}
