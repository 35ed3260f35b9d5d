import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { pipeline, type Readable } from 'node:stream';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import { PreparedStatement, ResourceNotFoundError, type AuthUser } from '@app/common';
import type { Place } from '@app/google-maps';
import { ALL_PLACES, PlaceListCache, type ListCacheView } from './place-list-cache.js';
import {
  afterCursor,
  decodeCursor,
  encodeCursor,
  orderBy,
  sortKeyColumn,
  qWindowServes,
  type PlaceCursor,
} from './place-cursor.js';
import { PlaceReceipts } from './place-receipts.js';
import { CsvFromCopy, FORMULA_START_CHARS, type ExportOptions } from './places.export.js';
import {
  EXPORT_FETCH,
  EXPORT_STATEMENT_TIMEOUT_MS,
  Q_WINDOW,
  STORE_CHUNK,
} from './places.constants.js';
import {
  PLACE_FIELDS,
  type ListPlacesQueryDto,
  type PlaceDto,
  type PlaceFilterDto,
  type PlacePageMeta,
} from './dto/place.dto.js';

/** A page of places: the contract's `{data, meta: {page, limit, total}}`, plus `meta.next_cursor`. */
export interface PlacePage {
  data: PlaceDto[];
  meta: PlacePageMeta;
}

/** Who a batch of places is stored for, and under which query. */
export interface PlaceOwner {
  userId: string;
  /** The scrape job storing them (null outside a job, e.g. imports and benchmarks). */
  jobId: string | null;
  keyword: string;
  location: string;
  kecamatan: string | null;
}

export interface StoreResult {
  /** Places in the batch. */
  total: number;
  /** Newly stored (for a job: by this job, across its re-runs). */
  inserted: number;
  /** Skipped because the user already has a place of that name in that kecamatan. */
  duplicates: number;
}

const SELECT_COLUMNS = `
  p.id, p.name, p.address, p.phone, p.website, p.rating, p.reviews_count, p.category,
  p.latitude, p.longitude, p.google_place_id, p.kecamatan, p.location, p.keyword, p.created_at`;

/** created_at as the ISO string a PlaceDto holds (`2026-12-02T17:20:25.613Z`), formatted by PostgreSQL. */
const CREATED_AT_ISO = `to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The same columns for an export, created_at already as the ISO string: PostgreSQL formats it
 * once, instead of node parsing a Date and formatting it back per row.
 */
const EXPORT_COLUMNS = SELECT_COLUMNS.replace('p.created_at', `${CREATED_AT_ISO} AS created_at`);

/**
 * A text column as a CSV cell, written by PostgreSQL: text a spreadsheet could run as a formula
 * (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'` (OWASP "CSV injection"; phone
 * numbers too: "+62 21 555" reads `'+62 21 555`), then the cell is quoted when it holds `"`, `,`,
 * CR or LF (RFC 4180); NULL is an empty cell.
 */
/** FORMULA_START_CHARS as SQL (`chr(61), chr(43), …`: no quoting or escaping to get wrong). */
const FORMULA_START_SQL = FORMULA_START_CHARS.map((char) => `chr(${char.charCodeAt(0)})`).join(
  ', ',
);

function csvTextCell(column: string): string {
  const safe = `(CASE WHEN left(${column}, 1) IN (${FORMULA_START_SQL}) THEN '''' || ${column} ELSE ${column} END)`;
  return `CASE WHEN ${column} IS NULL THEN '' WHEN ${safe} ~ '[",\\r\\n]' THEN '"' || replace(${safe}, '"', '""') || '"' ELSE ${safe} END`;
}

/** A number column as a CSV cell: as PostgreSQL prints it (never neutralised: the database typed it). */
const csvNumberCell = (column: string) => `coalesce(${column}::text, '')`;

/** The text columns: neutralised in CSV (numbers, the id and created_at are typed by the database). */
const TEXT_FIELDS: ReadonlySet<string> = new Set([
  'name',
  'address',
  'phone',
  'website',
  'category',
  'google_place_id',
  'kecamatan',
  'location',
  'keyword',
]);

const CSV_CELLS: Record<(typeof PLACE_FIELDS)[number], string> = {
  id: 'p.id::text',
  name: csvTextCell('p.name'),
  address: csvTextCell('p.address'),
  phone: csvTextCell('p.phone'),
  website: csvTextCell('p.website'),
  rating: csvNumberCell('p.rating'),
  reviews_count: csvNumberCell('p.reviews_count'),
  category: csvTextCell('p.category'),
  latitude: csvNumberCell('p.latitude'),
  longitude: csvNumberCell('p.longitude'),
  google_place_id: csvTextCell('p.google_place_id'),
  kecamatan: csvTextCell('p.kecamatan'),
  location: csvTextCell('p.location'),
  keyword: csvTextCell('p.keyword'),
  created_at: CREATED_AT_ISO,
};

/**
 * A CSV export's rows as finished lines, in PLACE_FIELDS order: PostgreSQL (its own process,
 * the other core) formats them, and node only joins one text column per row — parsing rows
 * into objects in node-postgres was ~70 % of an API process's CPU in a CSV export.
 */
const CSV_LINE = `${PLACE_FIELDS.map((field) => CSV_CELLS[field]).join(` || ',' || `)} || E'\\r\\n' AS line`;

/**
 * The same cells for `COPY (SELECT …) TO STDOUT (FORMAT csv)`, which quotes them itself (in C:
 * a cell holding `"`, `,`, CR or LF is quoted, `"` doubled, NULL an empty cell). Text cells are
 * neutralised as in csvTextCell, and an empty text is NULL: COPY writes NULL as an empty cell
 * but '' as `""`, where the cursor path writes an empty cell for both.
 */
function copyTextCell(column: string): string {
  return `CASE WHEN left(${column}, 1) IN (${FORMULA_START_SQL}) THEN '''' || ${column} ELSE nullif(${column}, '') END`;
}

/** PLACE_FIELDS in order, for COPY: numbers and the id as PostgreSQL prints them (as ::text does). */
const COPY_COLUMNS = PLACE_FIELDS.map((field) => {
  if (field === 'created_at') return CREATED_AT_ISO;
  if (TEXT_FIELDS.has(field)) return copyTextCell(`p.${field}`);
  return `p.${field}`;
}).join(', ');

/**
 * INSERT … SELECT FROM jsonb_to_recordset … ON CONFLICT DO NOTHING: one round trip per
 * chunk; the unique index (user, kecamatan, name) decides what is a duplicate, also
 * between concurrent jobs and within the batch itself.
 */
const INSERT_PLACES = `
  WITH ins AS (
    INSERT INTO google_map_places (
      user_id, scraper_job_id, keyword, location, kecamatan,
      name, address, phone, website, rating, reviews_count, category, latitude, longitude, google_place_id
    )
    SELECT $2, $3, $4, $5, $6,
           x.name, x.address, x.phone, x.website, x.rating, x.reviews_count, x.category,
           x.latitude, x.longitude, x.google_place_id
      FROM jsonb_to_recordset($1::jsonb) AS x(
        name varchar, address text, phone varchar, website text, rating real, reviews_count integer,
        category varchar, latitude double precision, longitude double precision, google_place_id varchar)
    ON CONFLICT DO NOTHING
    RETURNING 1
  )`;

/**
 * For a job that may have run before: `prior` counts what it stored in an earlier run (a
 * retry or a stalled worker's job). The statement's snapshot does not see its own inserts,
 * so prior + inserted is exactly what the job has stored. An ordinary query: a prepared
 * one could keep a generic plan for the count made when the table was nearly empty.
 */
const STORE_SQL = `${INSERT_PLACES}
  SELECT (SELECT count(*) FROM ins)::int AS inserted,
         CASE WHEN $7::uuid IS NULL THEN 0
              ELSE (SELECT count(*) FROM google_map_places WHERE scraper_job_id = $7::uuid)::int END AS prior`;

/** For a job created just now (a cache hit), which cannot have stored anything yet: no plan to choose, so prepared. */
const STORE_NEW = new PreparedStatement<{ inserted: number; prior: number }>(
  `${INSERT_PLACES} SELECT count(*)::int AS inserted, 0 AS prior FROM ins`,
);

/** The filters as SQL, on the params array they number into. */
interface Filter {
  /** Every filter, `q` included. */
  where: string;
  /** Every filter but `q`. */
  base: string;
  /** The `q` condition (served by the trigram index), or null. */
  match: string | null;
  params: unknown[];
  param: (value: unknown) => string;
}

interface PlaceRow extends Omit<PlaceDto, 'created_at'> {
  created_at: Date;
  sort_key?: string | null;
}

@Injectable()
export class PlacesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly receipts: PlaceReceipts,
    private readonly cache: PlaceListCache,
  ) {}

  /**
   * Stores a batch that never changes — a cached scrape, named by `batch` — for a user. A
   * repeat of a batch this user already has, with none of their places deleted since, is
   * counted from its receipt (all duplicates) without touching the database.
   */
  async storeBatch(owner: PlaceOwner, places: Place[], batch: string): Promise<StoreResult> {
    const name = `${batch}\n${owner.kecamatan ?? ''}`;
    const receipt = await this.receipts.check(owner.userId, name, places.length);
    if (receipt.covered) return { total: places.length, inserted: 0, duplicates: places.length };
    const result = await this.store(owner, places, { newJob: true });
    if (receipt.version !== null)
      await this.receipts.record(owner.userId, name, places.length, receipt.version);
    return result;
  }

  /**
   * Stores places for a user, skipping those they already have; counts both exactly.
   * `newJob`: the owner's job was created just now, so none of its places can be stored yet.
   */
  async store(
    owner: PlaceOwner,
    places: Place[],
    { newJob = false }: { newJob?: boolean } = {},
  ): Promise<StoreResult> {
    let inserted = 0;
    let prior: number | undefined;
    for (let offset = 0; offset < places.length; offset += STORE_CHUNK) {
      const chunk = places.slice(offset, offset + STORE_CHUNK);
      const rows = chunk.map((place) => ({
        name: place.name,
        address: place.address,
        phone: place.phone,
        website: place.website,
        rating: place.rating,
        reviews_count: place.reviewsCount,
        category: place.category,
        latitude: place.latitude,
        longitude: place.longitude,
        google_place_id: place.googlePlaceId,
      }));
      const params = [
        JSON.stringify(rows),
        owner.userId,
        owner.jobId,
        owner.keyword,
        owner.location,
        owner.kecamatan,
      ];
      const [row] = newJob
        ? await STORE_NEW.run(this.dataSource, params)
        : await this.dataSource.query<Array<{ inserted: number; prior: number }>>(STORE_SQL, [
            ...params,
            // What earlier runs of this job stored: only needed (and counted) before the first chunk.
            offset === 0 ? owner.jobId : null,
          ]);
      inserted += row.inserted;
      prior ??= row.prior;
      // Committed (each chunk is its own statement): cached totals of this user are stale.
      if (row.inserted > 0) await this.cache.changed(owner.userId);
    }
    const total = places.length;
    const stored = Math.min(total, inserted + (prior ?? 0));
    return { total, inserted: stored, duplicates: total - stored };
  }

  /**
   * A page of places. Hot path — per request: a GET and an MGET in Redis (the scope's
   * generation, then the cached total and, for a deep `?page=`, where it starts), and one
   * indexed keyset query in PostgreSQL: an index seek plus `limit + 1` rows, as cheap on
   * page 5,000 as on page 1. Only after the owner's places changed does a request also count
   * (and, for a deep page, walk the OFFSET once); the answer is then cached for every process.
   * Never add a per-request count, an unindexed filter or sort, or a lower()/ILIKE that no
   * index serves: at 200,000 places per user each costs tens of milliseconds.
   */
  async list(user: AuthUser, query: ListPlacesQueryDto): Promise<PlacePage> {
    const filter = this.filter(user, query);
    const { where } = filter;
    const filterParams = [...filter.params];
    const scope = (user.role === 'admin' ? query.user_id : user.id) ?? ALL_PLACES;
    const filters = JSON.stringify([
      query.keyword?.toLowerCase(),
      query.location?.toLowerCase(),
      query.kecamatan?.toLowerCase(),
      query.q,
    ]);
    const offset = query.cursor ? 0 : (query.page - 1) * query.limit;
    const countEntry = `count ${filters}`;
    const startEntry = `start ${query.sort} ${offset} ${filters}`;

    const cache = await this.cache.open(scope);
    const [cachedTotal, cachedStart] = await cache.get(
      offset > 0 ? [countEntry, startEntry] : [countEntry],
    );
    const total =
      cachedTotal !== null
        ? Number(cachedTotal)
        : this.count(where, filterParams, cache, countEntry);

    const page = async (): Promise<PlaceRow[]> => {
      let after = query.cursor ? decodeCursor(query.cursor, query.sort) : null;
      if (offset > 0) {
        after = cachedStart
          ? decodeCursor(cachedStart, query.sort)
          : await this.pageStart(query, where, filterParams, offset, cache, startEntry);
        if (!after) return []; // past the last place
      }
      return this.pageRows(query, filter, after);
    };
    const [rows, exactTotal] = await Promise.all([page(), total]);
    const more = rows.length > query.limit;
    if (more) rows.pop();
    const last = rows.at(-1);
    const next_cursor =
      more && last
        ? encodeCursor({ sort: query.sort, key: last.sort_key ?? null, id: last.id })
        : null;
    for (const row of rows) delete row.sort_key; // the cursor's, not part of a place
    return {
      data: rows.map(toDto),
      meta: { page: query.page, limit: query.limit, total: exactTotal, next_cursor },
    };
  }

  /**
   * One page's rows (`limit + 1`, the extra one telling whether a next page exists), after the
   * cursor if any. Without `q`: one keyset query that an index answers with a seek.
   *
   * With `q`, the planner alone is not safe: estimating that 2 % of names match, it walks the
   * date (or name) index newest first and filters each row, which is fast while matches are
   * spread over time but reads every row when the newest ones hold none (1.2–1.6 s for the
   * admin's `q=makmur` over 1M rows once 40,000 newer places held no "makmur"). So two bounded
   * steps, each with a cost fixed by this code rather than by the data's order:
   *  1. for the date sorts, the window: the first Q_WINDOW rows in the sort's order (an index
   *     walk), filtered by `q` — if it holds a full page, that page is exact (every later match
   *     sorts after the window);
   *  2. otherwise trigram first: the matches from the trigram index (a subquery behind an
   *     OFFSET 0 fence, so the planner cannot turn it back into the walk), then a top-N sort: the
   *     cost grows with the number of matches (~1 µs each, mostly the recheck of places_fold),
   *     not with the rows before them.
   */
  private async pageRows(
    query: ListPlacesQueryDto,
    filter: Filter,
    after: PlaceCursor | null,
  ): Promise<PlaceRow[]> {
    const params = [...filter.params];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const keyset = after ? ` AND ${afterCursor(after, param)}` : '';
    const select = `SELECT ${SELECT_COLUMNS}, ${sortKeyColumn(query.sort)} FROM google_map_places p`;
    const order = `ORDER BY ${orderBy(query.sort)} LIMIT ${query.limit + 1}`;
    const run = (sql: string) => this.dataSource.query<PlaceRow[]>(sql, params);
    if (!filter.match) return run(`${select} WHERE ${filter.where}${keyset} ${order}`);
    if (qWindowServes(query.sort)) {
      const rows = await run(
        `SELECT * FROM (${select} WHERE ${filter.base}${keyset}
            ORDER BY ${orderBy(query.sort)} LIMIT ${Q_WINDOW}) p
          WHERE ${filter.match} ${order}`,
      );
      if (rows.length > query.limit) return rows;
    }
    // OFFSET 0 keeps the subquery from being merged into the outer query: planned alone, with
    // no order to keep, it takes the trigram bitmap; the outer top-N sort then streams its rows
    // (a MATERIALIZED CTE did the same but wrote the matches to a temp file first).
    return run(`SELECT * FROM (${select} WHERE ${filter.where}${keyset} OFFSET 0) p ${order}`);
  }

  /** The exact number of places matching the filters, remembered for this generation. */
  private async count(
    where: string,
    params: unknown[],
    cache: ListCacheView,
    entry: string,
  ): Promise<number> {
    const [{ total }] = await this.dataSource.query<Array<{ total: number }>>(
      `SELECT count(*)::int AS total FROM google_map_places p WHERE ${where}`,
      params,
    );
    await cache.set(entry, total);
    return total;
  }

  /**
   * Where `?page=` starts: the row just before it, as a cursor (null: past the end). Found
   * once per generation with an OFFSET (an index-only walk for the date sorts), remembered,
   * so every later request for that page is a keyset seek.
   */
  private async pageStart(
    query: ListPlacesQueryDto,
    where: string,
    params: unknown[],
    offset: number,
    cache: ListCacheView,
    entry: string,
  ): Promise<PlaceCursor | null> {
    const [row] = await this.dataSource.query<Array<{ id: string; sort_key: string | null }>>(
      `SELECT p.id, ${sortKeyColumn(query.sort)} FROM google_map_places p WHERE ${where}
        ORDER BY ${orderBy(query.sort)} LIMIT 1 OFFSET ${offset - 1}`,
      params,
    );
    if (!row) return null;
    const start: PlaceCursor = { sort: query.sort, key: row.sort_key, id: row.id };
    await cache.set(entry, encodeCursor(start));
    return start;
  }

  /** One place, if the caller owns it or is an admin; otherwise 404 (its existence is not revealed). */
  async findOne(user: AuthUser, id: string): Promise<PlaceDto> {
    const rows = await this.dataSource.query<PlaceRow[]>(
      `SELECT ${SELECT_COLUMNS} FROM google_map_places p WHERE p.id = $1 AND ($2::uuid IS NULL OR p.user_id = $2)`,
      [id, user.role === 'admin' ? null : user.id],
    );
    if (!rows[0]) throw new ResourceNotFoundError('Place', id);
    return toDto(rows[0]);
  }

  async remove(user: AuthUser, id: string): Promise<void> {
    const owner = await this.dataSource.transaction(async (manager) => {
      const [rows] = await manager.query<[Array<{ user_id: string }>, number]>(
        `DELETE FROM google_map_places WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2) RETURNING user_id`,
        [id, user.role === 'admin' ? null : user.id],
      );
      if (!rows[0]) throw new ResourceNotFoundError('Place', id);
      // Before the commit: the owner's stored-batch receipts no longer hold.
      await this.receipts.invalidate(rows[0].user_id);
      return rows[0].user_id;
    });
    // After the commit: a count made from now on sees the deletion.
    await this.cache.changed(owner);
  }

  /**
   * The filtered places, sorted, fetched in chunks through a server-side cursor inside one
   * REPEATABLE READ transaction: a consistent snapshot, and memory bounded by the chunk
   * size whatever the total. Stopping the iteration (client gone) closes the cursor.
   */
  stream(user: AuthUser, filter: PlaceFilterDto): AsyncGenerator<PlaceDto[]> {
    return this.fetchInChunks<PlaceDto>(user, filter, EXPORT_COLUMNS);
  }

  /** As `stream`, each chunk as finished CSV lines (see CSV_LINE), without the header. */
  async *streamCsv(user: AuthUser, filter: PlaceFilterDto): AsyncGenerator<string> {
    for await (const rows of this.fetchInChunks<{ line: string }>(user, filter, CSV_LINE)) {
      let text = '';
      for (const row of rows) text += row.line;
      yield text;
    }
  }

  /**
   * The CSV download, written by PostgreSQL: `COPY (SELECT …) TO STDOUT (FORMAT csv)` quotes
   * every cell in C and sends the rows as one byte stream (no per-row DataRow to frame and
   * parse), read with pg-copy-streams on a connection of TypeORM's pool; CsvFromCopy adds the
   * header and the CRLF row ends. One statement: one snapshot, as the cursor path's REPEATABLE
   * READ transaction gave.
   *
   * COPY takes no bind parameters: the filters' values are inlined with node-postgres's
   * `escapeLiteral` (quotes doubled; with a backslash, an E'' literal with it doubled), the
   * rest of the statement is this code's own text (columns, PLACE_SORTS' ORDER BY).
   *
   * The response pulls from COPY (pipeline): a slow client leaves PostgreSQL waiting to write
   * (ClientWrite), nothing piles up here. The connection goes back to the pool only after a
   * complete COPY; on any other end (client gone, a cancelled statement, an error) it is
   * released with the error, so the pool closes it: a COPY interrupted mid-stream leaves the
   * connection in COPY mode, and only closing its socket stops the server-side COPY (a query
   * cancel is not even acted on while the backend waits to write to a stalled reader).
   */
  async csvExport(
    user: AuthUser,
    filter: PlaceFilterDto,
    options: ExportOptions,
  ): Promise<Readable> {
    const driver = this.dataSource.driver as PostgresDriver;
    const [client, release] = (await driver.obtainMasterConnection()) as [
      PoolClient,
      (error?: Error) => void,
    ];
    // Errors of a checked-out client reach its active query (the COPY stream, below); without
    // a listener an 'error' event on the client itself would crash the process.
    const ignore = () => undefined;
    client.on('error', ignore);
    let released = false;
    const done = (error?: Error | null) => {
      if (released) return;
      released = true;
      client.off('error', ignore);
      release(error ?? undefined);
    };
    let copy: Readable;
    try {
      const { base, match } = filterSql(user, filter, (text) => client.escapeLiteral(text));
      // The download lasts as long as the client takes to read it, not the pool's 30 s limit.
      await client.query(
        `BEGIN READ ONLY; SET LOCAL statement_timeout = ${EXPORT_STATEMENT_TIMEOUT_MS}`,
      );
      copy = client.query(
        copyTo(
          `COPY (SELECT ${COPY_COLUMNS} FROM google_map_places p
                  WHERE ${match ? `${base} AND ${match}` : base}
                  ORDER BY ${orderBy(filter.sort)}) TO STDOUT (FORMAT csv)`,
        ),
      );
    } catch (error) {
      done(error as Error);
      throw error;
    }
    // pg reports the connection's end to the COPY stream even after the pipeline is over.
    copy.on('error', ignore);
    const body = new CsvFromCopy(options);
    pipeline(copy, body, (error) => {
      if (error) return done(error);
      client.query('COMMIT').then(() => done(), done);
    });
    return body;
  }

  private async *fetchInChunks<T>(
    user: AuthUser,
    filter: PlaceFilterDto,
    columns: string,
  ): AsyncGenerator<T[]> {
    const { where, params } = this.filter(user, filter);
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    let open = false;
    try {
      await runner.startTransaction('REPEATABLE READ');
      open = true;
      await runner.query(
        `DECLARE places_export NO SCROLL CURSOR FOR
           SELECT ${columns} FROM google_map_places p WHERE ${where} ORDER BY ${orderBy(filter.sort)}`,
        params,
      );
      for (;;) {
        const rows = (await runner.query(`FETCH ${EXPORT_FETCH} FROM places_export`)) as T[];
        if (!rows.length) break;
        yield rows;
        if (rows.length < EXPORT_FETCH) break;
      }
      await runner.commitTransaction();
      open = false;
    } finally {
      if (open) await runner.rollbackTransaction().catch(() => undefined);
      await runner.release();
    }
  }

  /** The filters as SQL with bind parameters (`$1`, …). */
  private filter(user: AuthUser, filter: PlaceFilterDto): Filter {
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const { base, match } = filterSql(user, filter, param);
    return { where: match ? `${base} AND ${match}` : base, base, match, params, param };
  }
}

/**
 * The WHERE clause of the filters, written as the indexes' expressions so each is served by one
 * (see the 1764000500000 migration): lower(keyword), lower(coalesce(kecamatan, '')), and
 * places_fold(name) for `q`, a LIKE that the trigram index answers. Every value the caller
 * sent goes through `value`: a bind parameter for queries, an escaped literal for COPY.
 */
function filterSql(
  user: AuthUser,
  filter: PlaceFilterDto,
  value: (text: string) => string,
): { base: string; match: string | null } {
  const clauses: string[] = [];
  // Users see their own places; an admin sees everyone's, or one user's with ?user_id.
  const owner = user.role === 'admin' ? filter.user_id : user.id;
  if (owner) clauses.push(`p.user_id = ${value(owner)}`);
  if (filter.keyword) clauses.push(`lower(p.keyword) = lower(${value(filter.keyword)})`);
  if (filter.location) clauses.push(`lower(p.location) = lower(${value(filter.location)})`);
  if (filter.kecamatan)
    clauses.push(`lower(coalesce(p.kecamatan, '')) = lower(${value(filter.kecamatan)})`);
  const base = clauses.length ? clauses.join(' AND ') : 'true';
  if (!filter.q) return { base, match: null };
  // A substring match; %, _ and \ in the text are literal.
  const pattern = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return { base, match: `places_fold(p.name) LIKE places_fold(${value(pattern)})` };
}

/** In place: a copy of each row would only feed the GC. */
function toDto(row: PlaceRow): PlaceDto {
  const dto = row as unknown as PlaceDto;
  dto.created_at = row.created_at.toISOString();
  return dto;
}
