import ExcelJS from 'exceljs';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { PLACE_FIELDS, type ExportFormat, type PlaceDto } from './dto/place.dto.js';

type Field = (typeof PLACE_FIELDS)[number];

/** Columns holding numbers: written as numbers (never neutralised: the database typed them). */
const NUMERIC: ReadonlySet<Field> = new Set(['rating', 'reviews_count', 'latitude', 'longitude']);

/** What a spreadsheet could take for the start of a formula (OWASP "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Scraped text is attacker-controlled: a text cell starting with `=`, `+`, `-`, `@`, tab or
 * CR gets a leading `'`, so a spreadsheet shows it instead of running it — also a phone
 * number like "+62 21 555", which reads `'+62 21 555` in CSV (no exemption: "+1+HYPERLINK(…)"
 * looked like one too). XLSX keeps phone numbers readable as plain text cells instead.
 */
export function neutralise(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** A CSV cell: text neutralised, then quoted when needed; numbers as they are. */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  const text = neutralise(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(place: PlaceDto): string {
  return PLACE_FIELDS.map((field) => csvCell(place[field])).join(',') + '\r\n';
}

export interface ExportOptions {
  /** CSV: start with a UTF-8 byte-order mark (Excel then reads accented text right). */
  bom?: boolean;
}

/**
 * Turns chunks of places into the bytes of the download, pulling the next chunk only when the
 * client has read the last: memory stays flat whatever the number of places.
 */
export function exportStream(
  chunks: AsyncIterable<PlaceDto[]>,
  format: ExportFormat,
  options: ExportOptions = {},
): Readable {
  if (format === 'xlsx') return xlsxStream(chunks);
  async function* csv(): AsyncGenerator<string> {
    yield (options.bom ? '\uFEFF' : '') + PLACE_FIELDS.join(',') + '\r\n';
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

const XLSX_WIDTHS: Partial<Record<Field, number>> = {
  id: 38,
  name: 32,
  address: 40,
  phone: 18,
  website: 30,
  created_at: 20,
};

/**
 * An Excel workbook, written with exceljs' streaming WorkbookWriter: each row is committed
 * (serialised into the zip) as it is added, so no sheet is ever held in memory. The writer
 * itself ignores backpressure (its internal stream's write() always returns true), so this
 * loop provides it: after each chunk it waits until the client has drained the output before
 * fetching the next chunk from the database.
 *
 * Numbers are numeric cells, created_at a date cell; every text cell is a string cell (never a
 * formula), and text starting like a formula is neutralised as in CSV, except phone numbers,
 * which a text-formatted column keeps readable ("+62 21 555").
 */
function xlsxStream(chunks: AsyncIterable<PlaceDto[]>): Readable {
  const output = new PassThrough();
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
    stream: output,
    useStyles: true,
    useSharedStrings: false,
  });
  const sheet = workbook.addWorksheet('Places', {
    views: [{ state: 'frozen', ySplit: 1, xSplit: 0 }],
  });
  sheet.columns = PLACE_FIELDS.map((field) => ({
    header: field,
    key: field,
    width: XLSX_WIDTHS[field] ?? 14,
    style:
      field === 'phone'
        ? { numFmt: '@' }
        : field === 'created_at'
          ? { numFmt: 'yyyy-mm-dd hh:mm:ss' }
          : {},
  }));
  sheet.getRow(1).font = { bold: true };
  sheet.getRow(1).commit();

  const write = async () => {
    let rows = 1;
    for await (const chunk of chunks) {
      for (const place of chunk) {
        sheet.addRow(PLACE_FIELDS.map((field) => xlsxCell(field, place[field]))).commit();
        rows++;
      }
      if (output.writableNeedDrain) await drainedOrClosed(output);
      // Client gone: leaving the loop closes the database cursor.
      if (output.destroyed) return;
    }
    // Written with the sheet's end, once the last row is known: the filter covers every row.
    sheet.autoFilter = {
      from: { row: 1, column: 1 },
      to: { row: rows, column: PLACE_FIELDS.length },
    };
    sheet.commit();
    await workbook.commit();
  };
  write().catch((error: Error) => output.destroy(error));
  return output;
}

function drainedOrClosed(stream: PassThrough): Promise<unknown> {
  const abort = new AbortController();
  return Promise.race([once(stream, 'drain', abort), once(stream, 'close', abort)])
    .catch(() => undefined)
    .finally(() => abort.abort());
}

function xlsxCell(field: Field, value: string | number | null): string | number | Date | null {
  if (value === null) return null;
  if (NUMERIC.has(field)) return value;
  if (field === 'created_at') return new Date(value);
  return field === 'phone' ? String(value) : neutralise(String(value));
}
