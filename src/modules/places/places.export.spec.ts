import ExcelJS from 'exceljs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { PlaceDto } from './dto/place.dto.js';
import { CsvFromCopy, csvStream, exportStream, neutralise } from './places.export.js';

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

const PLACE_FIELDS_LINE =
  'id,name,address,phone,website,rating,reviews_count,category,latitude,longitude,google_place_id,kecamatan,location,keyword,created_at';

async function read(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

async function* chunks(...batches: PlaceDto[][]) {
  for (const batch of batches) yield batch;
}

describe('places export', () => {
  it('neutralises text starting like a formula (for XLSX text cells), nothing else', () => {
    expect(neutralise('=HYPERLINK("x")')).toBe(`'=HYPERLINK("x")`);
    expect(neutralise('+62 21 555')).toBe(`'+62 21 555`);
    expect(neutralise('\t=1')).toBe(`'\t=1`);
    expect(neutralise('Kopi = enak')).toBe('Kopi = enak');
  });

  it('writes the CSV header, then the lines as they come, with a BOM only on request', async () => {
    async function* lines() {
      yield 'a\r\n';
      yield 'b\r\nc\r\n';
    }
    const text = await read(csvStream(lines()));
    expect(text.split('\r\n')).toEqual([
      'id,name,address,phone,website,rating,reviews_count,category,latitude,longitude,google_place_id,kecamatan,location,keyword,created_at',
      'a',
      'b',
      'c',
      '',
    ]);
    const bom = await read(csvStream(lines(), { bom: true }));
    expect(bom.startsWith('\uFEFFid,name,')).toBe(true);
  });

  it('CSV from COPY: the header, then CRLF row ends, the LF inside quoted cells kept, wherever the chunks split', async () => {
    // As COPY (FORMAT csv) writes rows: `"` only in quoted cells, doubled inside them.
    const copy = 'a,"x\n""y"",\n",b\n"",c,"\r\n"\n\n"q""\n"\n';
    const rows = 'a,"x\n""y"",\n",b\r\n"",c,"\r\n"\r\n\r\n"q""\n"\r\n';
    const header = PLACE_FIELDS_LINE + '\r\n';
    const bytes = Buffer.from(copy);
    for (let a = 0; a <= bytes.length; a++)
      for (let b = a; b <= bytes.length; b++) {
        const parts = [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)];
        const text = await read(Readable.from(parts).pipe(new CsvFromCopy()));
        expect(text, `split at ${a}, ${b}`).toBe(header + rows);
      }
    const empty = await read(Readable.from([]).pipe(new CsvFromCopy({ bom: true })));
    expect(empty).toBe('\uFEFF' + header);
  });

  it('writes a valid JSON array, also when empty', async () => {
    expect(JSON.parse(await read(exportStream(chunks(), 'json')))).toEqual([]);
    const parsed = JSON.parse(
      await read(exportStream(chunks([place('A'), place('B')], [place('C')]), 'json')),
    );
    expect(parsed.map((p: PlaceDto) => p.name)).toEqual(['A', 'B', 'C']);
  });

  it('XLSX: fetches rows only as fast as the client takes the file (backpressure through the zip stage)', async () => {
    const CHUNKS = 20;
    let received = 0;
    const receivedAtPull: number[] = [];
    async function* source() {
      for (let c = 0; c < CHUNKS; c++) {
        receivedAtPull.push(received);
        // Unique text, as scraped data is: deflate cannot shrink it to nothing.
        yield Array.from({ length: 1000 }, (_, i) =>
          place(`Toko ${c}-${i} ${(c * 7919 + i * 104729).toString(36)}`),
        );
      }
    }
    const parts: Buffer[] = [];
    for await (const part of exportStream(source(), 'xlsx')) {
      parts.push(part as Buffer);
      received += (part as Buffer).length;
    }
    // Without backpressure every chunk is pulled before the client has a single byte (exceljs
    // hands the sheet XML on without waiting); with it, the client has most of the file by the
    // time the last chunks are fetched.
    expect(receivedAtPull[CHUNKS - 1]).toBeGreaterThan(received / 2);
    // And the file is a real workbook holding every row.
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.concat(parts) as unknown as ArrayBuffer);
    const sheet = workbook.getWorksheet('Places')!;
    expect(sheet.rowCount).toBe(1 + CHUNKS * 1000);
    expect(sheet.getRow(CHUNKS * 1000 + 1).getCell(2).value).toMatch(/^Toko 19-999 /);
  });
});
