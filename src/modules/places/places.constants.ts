/** Rows per INSERT while storing: one jsonb parameter each, so the statement stays small and plannable. */
export const STORE_CHUNK = 1000;

/**
 * A `q` search first looks for its page among this many rows in the list's order (an index
 * walk, ~3 µs a row: ≤ ~6 ms); only when they hold less than a page does it take the trigram
 * index's matches and sort them (PlacesService.pageRows).
 */
export const Q_WINDOW = 2000;

/**
 * Rows fetched per round trip while exporting: memory stays flat whatever the total (~5 MB of
 * row objects at most), and large enough that the round trips cost little (~1 ms per FETCH
 * against ~30 ms of rows to format).
 */
export const EXPORT_FETCH = 5000;

/**
 * How long a CSV export's COPY may run: as long as the client takes to download the file (the
 * response pulls from it), so the pool's 30 s statement_timeout would cut a slow client's
 * 30 MB download; ten minutes still ends a COPY that never finishes.
 */
export const EXPORT_STATEMENT_TIMEOUT_MS = 10 * 60_000;

/**
 * How long a cached list fact (a total, a deep page's start) lives. Every committed change
 * voids them at once (see PlaceListCache); the TTL only bounds the lag if Redis was
 * unreachable when a change happened.
 */
export const PLACE_LIST_CACHE_TTL_MS = 10 * 60_000;

/** What an export sends, and under which type. */
export const EXPORT_CONTENT_TYPES = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
} as const;
