import { describe, expect, it } from 'vitest';
import { type Bounds, cellsCovering, startLevel } from '@app/google-maps';
import { MemoryCellStore, citySearcher } from '../../../../test/fakes/area-cover-memory.js';
import { SyntheticCity } from '../../../../test/fakes/places-city.js';
import { type CoverRequest, areaTile, coverArea } from './area-coverage.js';

const square = (lat: number, lng: number, half: number): Bounds => ({
  sw: { lat: lat - half, lng: lng - half },
  ne: { lat: lat + half, lng: lng + half },
});

async function cover(
  city: SyntheticCity,
  bounds: Bounds,
  options: Partial<CoverRequest> & { store?: MemoryCellStore } = {},
) {
  const counter = { billed: 0, rectangles: [] as string[] };
  const { store = new MemoryCellStore(), ...request } = options;
  const result = await coverArea(
    {
      keyword: 'kopi',
      area: { bounds },
      maxResults: 30_000,
      maxDepth: 8,
      maxRequests: 5_000,
      concurrency: 4,
      notBefore: 0,
      ...request,
    },
    citySearcher(city, counter),
    store,
  );
  const ids = result.places.map((p) => p.googlePlaceId);
  return { ...result, ids, billed: counter.billed, searched: counter.rectangles, store };
}

describe('coverArea (the fake city, in memory)', () => {
  const city = new SyntheticCity();
  const menteng = city.area('Menteng').viewport;

  it('finds every place exactly once while splitting cells predicted full unsearched; the repeat pays nothing', async () => {
    const first = await cover(city, menteng);
    const expected = city.in(menteng).map((p) => p.id);
    expect(first.coverage).toBe('complete');
    expect(first.ids).toHaveLength(expected.length);
    expect(new Set(first.ids)).toEqual(new Set(expected));
    expect(first.requests).toBe(first.billed);
    expect(first.searched.length).toBeLessThan(first.rectangles.done);
    expect([...first.store.cells.values()].some((cell) => cell.unsearched)).toBe(true);

    const again = await cover(city, menteng, { store: first.store });
    expect(again.billed).toBe(0);
    expect(new Set(again.ids)).toEqual(new Set(expected));
    expect(again.rectangles).toEqual({ ...first.rectangles, cached: first.rectangles.known });
  });

  it('searches the same rectangles at any concurrency: decisions follow results, not timing', async () => {
    const runs = await Promise.all(
      [1, 4, 32].map((concurrency) => cover(city, menteng, { concurrency })),
    );
    const sorted = runs.map((run) => [...run.searched].sort());
    expect(sorted[1]).toEqual(sorted[0]);
    expect(sorted[2]).toEqual(sorted[0]);
  });

  it.each([1, 2, 3])(
    'covers dense, sparse and edge-crossing areas of a city of seed %i: every place once',
    async (seed) => {
      const other = new SyntheticCity({ seed });
      const areas = [
        ...other.areas.map((area) => area.viewport),
        square(-6.13, 106.89, 0.05),
        square(-6.2, 106.82, 0.005),
      ];
      for (const bounds of areas) {
        const run = await cover(other, bounds);
        const expected = other.in(bounds).map((p) => p.id);
        expect(run.coverage).toBe('complete');
        expect(run.ids).toHaveLength(expected.length);
        expect(new Set(run.ids)).toEqual(new Set(expected));
      }
    },
  );

  it('searches a cell another cover split unsearched when this one may not split it', async () => {
    // A sparse area whose start cells hold fewer than 60 places each.
    const sparse = square(-6.13, 106.89, 0.01);
    const starts = cellsCovering(sparse, startLevel(sparse)).map((cell) => areaTile(cell, sparse));
    expect(starts.every((tile) => city.in(tile.bounds).length < 60)).toBe(true);
    const store = new MemoryCellStore();
    for (const tile of starts)
      await store.set('kopi', tile, { places: [], full: true, unsearched: true, at: Date.now() });

    const run = await cover(city, sparse, { store, maxDepth: 0 });
    expect(run.coverage).toBe('complete');
    expect(run.searched).toHaveLength(starts.length);
    expect(new Set(run.ids)).toEqual(new Set(city.in(sparse).map((p) => p.id)));
  });
});
