import { Readable } from 'node:stream';
import { PLACE_FIELDS, type ExportFormat, type PlaceDto } from './dto/place.dto.js';

/**
 * A CSV cell: quoted when needed, and a leading `=`, `@`, tab or CR (or `+`/`-` not
 * starting a number) defused with `'`, so a spreadsheet never runs a place name as a formula.
 */
export function csvCell(value: string | number | boolean | Date | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = value instanceof Date ? value.toISOString() : String(value);
  if (/^[=@\t\r]/.test(text) || /^[+-][^\d\s.]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(place: PlaceDto): string {
  return PLACE_FIELDS.map((field) => csvCell(place[field])).join(',') + '\r\n';
}

/** Turns chunks of places into the bytes of the download, pulling the next chunk only when the client has read the last. */
export function exportStream(chunks: AsyncIterable<PlaceDto[]>, format: ExportFormat): Readable {
  async function* csv(): AsyncGenerator<string> {
    // A byte-order mark so Excel reads the UTF-8 names (Indonesian addresses) correctly.
    yield '\uFEFF' + PLACE_FIELDS.join(',') + '\r\n';
    for await (const chunk of chunks) yield chunk.map(csvLine).join('');
  }
  async function* json(): AsyncGenerator<string> {
    yield '[';
    let first = true;
    for await (const chunk of chunks) {
      const body = chunk.map((place) => JSON.stringify(place)).join(',\n');
      yield (first ? '\n' : ',\n') + body;
      first = false;
    }
    yield first ? ']\n' : '\n]\n';
  }
  return Readable.from(format === 'csv' ? csv() : json(), { objectMode: false });
}
