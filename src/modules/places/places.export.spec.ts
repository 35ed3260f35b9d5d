import { describe, expect, it } from 'vitest';
import type { PlaceDto } from './dto/place.dto.js';
import { csvCell, exportStream, neutralise } from './places.export.js';

const place = (name: string): PlaceDto => ({
  id: '00000000-0000-0000-0000-000000000001',
  name,
  address: 'Jl. A, No. 1',
  phone: '+62 21 1',
  website: null,
  rating: 4.5,
  reviews_count: 10,
  category: 'cafe',
  latitude: -6.2,
  longitude: 106.8,
  google_place_id: null,
  kecamatan: null,
  location: 'Jakarta',
  keyword: 'kopi',
  created_at: '2026-01-01T00:00:00.000Z',
});

async function read(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

async function* chunks(...batches: PlaceDto[][]) {
  for (const batch of batches) yield batch;
}

describe('places export', () => {
  it('quotes CSV cells with commas, quotes and newlines', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(null)).toBe('');
  });

  it('neutralises every text starting with =, +, -, @, tab or CR (phone numbers too), never numbers', () => {
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('+1+HYPERLINK("x")')).toBe(`"'+1+HYPERLINK(""x"")"`);
    expect(csvCell("-2+3+cmd|' /C calc'!A0")).toBe(`'-2+3+cmd|' /C calc'!A0`);
    expect(csvCell('@SUM(A1)')).toBe(`'@SUM(A1)`);
    expect(csvCell('\t=1')).toBe(`'\t=1`);
    expect(csvCell('\r=1')).toBe(`"'\r=1"`);
    expect(csvCell('+62 21 555')).toBe(`'+62 21 555`);
    expect(csvCell(-6.2)).toBe('-6.2');
    expect(neutralise('Kopi = enak')).toBe('Kopi = enak');
  });

  it('writes a CSV header and one line per place, with a BOM only on request', async () => {
    const text = await read(exportStream(chunks([place('A')], [place('B, Inc')]), 'csv'));
    expect(text.startsWith('id,name,')).toBe(true);
    const lines = text.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'id,name,address,phone,website,rating,reviews_count,category,latitude,longitude,google_place_id,kecamatan,location,keyword,created_at',
    );
    expect(lines).toHaveLength(3);
    expect(lines[2]).toContain('"B, Inc"');
    const bom = await read(exportStream(chunks([place('A')]), 'csv', { bom: true }));
    expect(bom.startsWith('\uFEFFid,name,')).toBe(true);
  });

  it('writes a valid JSON array, also when empty', async () => {
    expect(JSON.parse(await read(exportStream(chunks(), 'json')))).toEqual([]);
    const parsed = JSON.parse(
      await read(exportStream(chunks([place('A'), place('B')], [place('C')]), 'json')),
    );
    expect(parsed.map((p: PlaceDto) => p.name)).toEqual(['A', 'B', 'C']);
  });
});
