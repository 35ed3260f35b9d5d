import ExcelJS from 'exceljs';
import { once } from 'node:events';
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import { PLACE_FIELDS, type PlaceDto } from './dto/place.dto.js';

type Field = (typeof PLACE_FIELDS)[number];

/** Columns holding numbers: written as numbers (never neutralised: the database typed them). */
const NUMERIC: ReadonlySet<Field> = new Set(['rating', 'reviews_count', 'latitude', 'longitude']);

/**
 * What a spreadsheet could take for the start of a formula (OWASP "CSV injection"): the one list
 * both XLSX (`neutralise`) and CSV (`csvTextCell` in places.service.ts, in SQL) go by.
 */
export const FORMULA_START_CHARS: readonly string[] = ['=', '+', '-', '@', '\t', '\r'];

/**
 * Scraped text is attacker-controlled: a text cell starting with `=`, `+`, `-`, `@`, tab or
 * CR gets a leading `'`, so a spreadsheet shows it instead of running it. CSV applies the same
 * rule in SQL (`csvTextCell` in places.service.ts), phone numbers included ("+62 21 555" reads
 * `'+62 21 555`: "+1+HYPERLINK(…)" looked like one too); XLSX keeps phone numbers readable as
 * plain text cells instead.
 */
export function neutralise(text: string): string {
  return FORMULA_START_CHARS.includes(text.charAt(0)) ? `'${text}` : text;
}

export interface ExportOptions {
  /** CSV: start with a UTF-8 byte-order mark (Excel then reads accented text right). */
  bom?: boolean;
}

/**
 * A CSV download: the header, then chunks of finished lines (PostgreSQL writes them, see
 * `PlacesService.streamCsv`), each pulled only when the client has read the last.
 */
export function csvStream(lines: AsyncIterable<string>, options: ExportOptions = {}): Readable {
  async function* csv(): AsyncGenerator<string> {
    yield (options.bom ? '\uFEFF' : '') + PLACE_FIELDS.join(',') + '\r\n';
    yield* lines;
  }
  return Readable.from(csv(), { objectMode: false });
}

/**
 * A CSV download from PostgreSQL's `COPY … TO STDOUT (FORMAT csv)` bytes (see
 * `PlacesService.csvExport`): the header first (after a BOM on request), then COPY's rows with
 * each row's end turned into `\r\n` (RFC 4180; COPY ends rows with a bare `\n`). A `\n` inside
 * a quoted cell is the cell's text and stays as it is, as in the cursor path: COPY quotes every
 * cell holding `"`, `,`, CR or LF and leaves `"` out of unquoted cells, so a `\n` ends a row
 * exactly when an even number of `"` precede it. No parsing beyond that: two `indexOf` scans
 * and one copy per chunk (a CSV library would parse and re-write every cell).
 */
export class CsvFromCopy extends Transform {
  /** Inside a quoted cell at the end of the last chunk (a cell may span chunks). */
  private quoted = false;

  constructor(options: ExportOptions = {}) {
    super();
    this.push(Buffer.from((options.bom ? '\uFEFF' : '') + PLACE_FIELDS.join(',') + '\r\n'));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const ends: number[] = [];
    let quoted = this.quoted;
    let quote = chunk.indexOf(QUOTE);
    let newline = chunk.indexOf(LF);
    for (;;) {
      if (quoted) {
        if (quote === -1) break;
        quoted = false; // a closing quote, or the first of an escaped `""` (the second reopens)
        const from = quote + 1;
        quote = chunk.indexOf(QUOTE, from);
        if (newline !== -1 && newline < from) newline = chunk.indexOf(LF, from);
      } else if (quote !== -1 && (newline === -1 || quote < newline)) {
        quoted = true;
        quote = chunk.indexOf(QUOTE, quote + 1);
      } else if (newline !== -1) {
        ends.push(newline);
        newline = chunk.indexOf(LF, newline + 1);
      } else break;
    }
    this.quoted = quoted;
    if (!ends.length) return done(null, chunk);
    const out = Buffer.allocUnsafe(chunk.length + ends.length);
    let read = 0;
    let written = 0;
    for (const end of ends) {
      written += chunk.copy(out, written, read, end);
      out[written++] = CR;
      read = end; // the \n itself is copied with the next segment
    }
    chunk.copy(out, written, read);
    done(null, out);
  }
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Turns chunks of places into the bytes of a JSON or XLSX download, pulling the next chunk only
 * when the client has read the last: memory stays flat whatever the number of places.
 */
export function exportStream(chunks: AsyncIterable<PlaceDto[]>, format: 'json' | 'xlsx'): Readable {
  if (format === 'xlsx') return xlsxStream(chunks);
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
  return Readable.from(json(), { objectMode: false });
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
 * How much sheet XML may wait, uncompressed, between exceljs and the zip's deflate stage before
 * the export stops fetching rows: a few hundred rows' worth. What lies beyond it (deflate's output, the
 * zip stream, the response) is plain Node streams that pipe() already holds to their
 * high-water marks.
 */
const XLSX_PENDING_BYTES = 256 * 1024;

/**
 * The parts of exceljs 4.4's stream writer that decide how much XML is held: the worksheet's
 * StreamBuf (`buffers`: its last, partly filled 64 kB batch) and the PassThrough archiver wraps
 * it in (`pipes[0]`, a readable-stream 2 stream: `_writableState` is its public-enough state),
 * which is piped, with backpressure, into deflate once archiver reaches the sheet's entry.
 * StreamBuf hands each batch to `pipe.write()` without looking at its return value — the one
 * link of the chain with no backpressure.
 */
interface SheetStreamBuf {
  buffers: Array<{ length: number }>;
  pipes: Array<NodeJS.EventEmitter & { _writableState: { length: number; needDrain: boolean } }>;
}

/**
 * An Excel workbook, written with exceljs' streaming WorkbookWriter: each row is committed
 * (serialised into the zip) as it is added, so no sheet is ever held in memory. The writer
 * itself ignores backpressure (its internal stream's write() always returns true and passes
 * every batch on to the zip's deflate stage at once), so without help the XML of rows the
 * client has not taken yet piles up in front of deflate (+0.6 MB per 1,000 rows measured).
 * This loop provides the backpressure: after each chunk of rows it waits until what is pending
 * in front of deflate is below XLSX_PENDING_BYTES — deflate drains only as fast as the zip
 * output, hence the client, reads — before fetching the next chunk from the database.
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
  const xml = (sheet as unknown as { stream: SheetStreamBuf }).stream;
  if (!Array.isArray(xml.buffers) || !Array.isArray(xml.pipes))
    throw new Error('exceljs changed its stream writer: XLSX backpressure needs updating');

  /** Resolves once the pending XML is small enough, or the client is gone. */
  const caughtUp = async () => {
    for (;;) {
      if (output.destroyed) return;
      const entry = xml.pipes[0]?._writableState;
      const held = xml.buffers.reduce((sum, buffer) => sum + buffer.length, 0);
      if (held + (entry?.length ?? 0) <= XLSX_PENDING_BYTES) return;
      // Over its high-water mark the entry stream emits 'drain' once emptied; otherwise (not
      // wrapped yet, in the first milliseconds) there is no event: look again shortly.
      if (entry?.needDrain) await drainedOrClosed(xml.pipes[0], output);
      else await new Promise((resolve) => setTimeout(resolve, 1));
    }
  };

  const write = async () => {
    let rows = 1;
    for await (const chunk of chunks) {
      for (const place of chunk) {
        sheet.addRow(PLACE_FIELDS.map((field) => xlsxCell(field, place[field]))).commit();
        rows++;
      }
      await caughtUp();
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

function drainedOrClosed(stream: NodeJS.EventEmitter, output: PassThrough): Promise<unknown> {
  const abort = new AbortController();
  return Promise.race([once(stream, 'drain', abort), once(output, 'close', abort)])
    .catch(() => undefined)
    .finally(() => abort.abort());
}

function xlsxCell(field: Field, value: string | number | null): string | number | Date | null {
  if (value === null) return null;
  if (NUMERIC.has(field)) return value;
  if (field === 'created_at') return new Date(value);
  return field === 'phone' ? String(value) : neutralise(String(value));
}
