import { describe, expect, it } from 'vitest';
import {
  ancestors,
  boundsContain,
  cellBounds,
  cellsCovering,
  children,
  polygonContains,
  polygonProblems,
  startLevel,
  type GeoPolygon,
} from './geo.js';

describe('the global grid', () => {
  it('gives neighbours one shared edge value, and a point on it is in both (closed rectangles)', () => {
    const a = cellBounds({ z: 14, x: 9000, y: 7900 });
    const b = cellBounds({ z: 14, x: 9001, y: 7900 });
    expect(a.ne.lng).toBe(b.sw.lng);
    const onEdge = { lat: (a.sw.lat + a.ne.lat) / 2, lng: a.ne.lng };
    expect(boundsContain(a, onEdge)).toBe(true);
    expect(boundsContain(b, onEdge)).toBe(true);
  });

  it('splits a cell into its four quarters and finds it again among their ancestors', () => {
    const cell = { z: 10, x: 813, y: 494 };
    const quarters = children(cell);
    expect(quarters.map(cellBounds).map((b) => b.ne.lat - b.sw.lat)).toEqual(
      Array(4).fill((cellBounds(cell).ne.lat - cellBounds(cell).sw.lat) / 2),
    );
    for (const quarter of quarters) expect(ancestors(quarter)[0]).toEqual(cell);
    expect(ancestors(cell).at(-1)).toEqual({ z: 0, x: 0, y: 0 });
  });

  it('starts an area at a level where it spans at most two cells each way, edges excluded', () => {
    const area = { sw: { lat: -6.23, lng: 106.8 }, ne: { lat: -6.19, lng: 106.85 } };
    const z = startLevel(area);
    const cells = cellsCovering(area, z);
    expect(cells.length).toBeGreaterThan(0);
    expect(cells.length).toBeLessThanOrEqual(4);
    // An area exactly one cell: that cell alone, not its neighbours along the shared edges.
    expect(cellsCovering(cellBounds({ z: 12, x: 3263, y: 1977 }), 12)).toEqual([
      { z: 12, x: 3263, y: 1977 },
    ]);
  });
});

describe('polygons', () => {
  const square: GeoPolygon = {
    type: 'Polygon',
    coordinates: [
      [
        [0, 0],
        [10, 0],
        [10, 10],
        [0, 10],
        [0, 0],
      ],
      [
        [4, 4],
        [6, 4],
        [6, 6],
        [4, 6],
        [4, 4],
      ],
    ],
  };

  it('contains points inside and on its edges, not in its hole', () => {
    expect(polygonContains(square, { lat: 2, lng: 2 })).toBe(true);
    expect(polygonContains(square, { lat: 0, lng: 5 })).toBe(true);
    expect(polygonContains(square, { lat: 5, lng: 5 })).toBe(false);
    expect(polygonContains(square, { lat: 11, lng: 5 })).toBe(false);
  });

  it('names what is wrong with a polygon', () => {
    expect(polygonProblems(square)).toEqual([]);
    expect(polygonProblems({ type: 'Point', coordinates: [1, 2] })[0]).toMatch(/GeoJSON Polygon/);
    expect(
      polygonProblems({
        type: 'Polygon',
        coordinates: [
          [
            [0, 0],
            [1, 0],
            [1, 1],
            [0, 1],
          ],
        ],
      })[0],
    ).toMatch(/not closed/);
    expect(
      polygonProblems({
        type: 'Polygon',
        coordinates: [
          [
            [0, 0],
            [200, 0],
            [1, 1],
            [0, 0],
          ],
        ],
      })[0],
    ).toMatch(/\[1\] must be \[longitude/);
  });
});
