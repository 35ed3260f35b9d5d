/**
 * The area cover's outside world in memory, for unit tests and `bench:coverage:model`: a
 * rectangle searcher over the fake city answering as the fake Places API does (closed
 * rectangles, prominence order, pages of 20, 60 at most), and a cell store with the rules of
 * `AreaCellStore` (own tile, whole cell, an ancestor that was not full) without Redis.
 */
import { type Place, ancestors, boundsContain, cellBounds, cellKey } from '@app/google-maps';
import type {
  CellResult,
  CellStore,
  RectangleSearcher,
  Tile,
} from '../../src/modules/scraper/area/area-coverage.js';
import type { SyntheticCity } from './places-city.js';

const PAGE = 20;
const CAP = 60;

/** Searches the city; `billed` counts the requests, `rectangles` each rectangle's first page. */
export function citySearcher(
  city: SyntheticCity,
  counter: { billed: number; rectangles?: string[] },
): RectangleSearcher {
  return async (_keyword, bounds, { allowRequest }) => {
    const matches = city.in(bounds).slice(0, CAP);
    const places: Place[] = [];
    let requests = 0;
    for (let page = 0; page < CAP / PAGE; page++) {
      if (!(await allowRequest('places.text_search.pro')))
        return { places, full: false, finished: false, requests };
      requests++;
      counter.billed++;
      if (page === 0) counter.rectangles?.push(JSON.stringify(bounds));
      for (const p of matches.slice(page * PAGE, (page + 1) * PAGE))
        places.push({
          googlePlaceId: p.id,
          name: p.id,
          latitude: p.lat,
          longitude: p.lng,
        } as Place);
      if ((page + 1) * PAGE >= matches.length) break;
    }
    // As the client: 20 on the third page (no token at the cap) means full.
    return { places, full: places.length === CAP, finished: true, requests };
  };
}

export class MemoryCellStore implements CellStore {
  readonly cells = new Map<string, CellResult>();

  async get(_keyword: string, tiles: Tile[], notBefore: number) {
    const fresh = (key: string) => {
      const result = this.cells.get(key);
      return result && result.at >= notBefore ? result : undefined;
    };
    return tiles.map((tile) => {
      const own = tile.clip ? fresh(`${cellKey(tile.cell)}:${tile.clip}`) : undefined;
      const whole = own ?? fresh(cellKey(tile.cell));
      if (whole) return whole;
      const bounds = cellBounds(tile.cell);
      for (const cell of ancestors(tile.cell).slice(0, 16)) {
        const result = fresh(cellKey(cell));
        if (!result || result.full) continue;
        const places = result.places.filter(
          (p) =>
            p.latitude !== null &&
            p.longitude !== null &&
            boundsContain(bounds, { lat: p.latitude, lng: p.longitude }),
        );
        return { places, full: false, at: result.at };
      }
      return undefined;
    });
  }

  async set(_keyword: string, tile: Tile, result: CellResult) {
    this.cells.set(cellKey(tile.cell) + (tile.clip ? `:${tile.clip}` : ''), result);
  }
}
