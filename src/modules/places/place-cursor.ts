import { UnprocessableEntityException } from '@nestjs/common';
import type { PlaceSort } from './dto/place.dto.js';

/**
 * How each sort orders places, and how to continue after a given row (keyset paging): the
 * sort key, then `id` to break ties (a batch of places shares one created_at), so the order
 * is total and a next page never skips or repeats a row, whatever is inserted meanwhile.
 * Missing ratings and review counts come last in both directions.
 */
interface SortSpec {
  /** The SQL expression sorted on; must match an index's expression to be served by it. */
  expr: string;
  /** Its type, to cast the cursor's text value back. */
  type: 'timestamptz' | 'text' | 'real' | 'int';
  desc: boolean;
  nullable: boolean;
  /**
   * Which lists a B-tree index returns in this order: all (the admin's too), only one owner's
   * (the name index starts with user_id), or none (rating and reviews: a sort of the matches).
   */
  indexed: 'all' | 'owner' | 'none';
}

const spec = (
  expr: string,
  type: SortSpec['type'],
  indexed: SortSpec['indexed'],
  nullable = false,
) => ({
  asc: { expr, type, desc: false, nullable, indexed },
  desc: { expr, type, desc: true, nullable, indexed },
});
const CREATED = spec('p.created_at', 'timestamptz', 'all');
const NAME = spec('lower(p.name)', 'text', 'owner');
const RATING = spec('p.rating', 'real', 'none', true);
const REVIEWS = spec('p.reviews_count', 'int', 'none', true);

export const SORTS: Record<PlaceSort, SortSpec> = {
  created_at: CREATED.asc,
  '-created_at': CREATED.desc,
  name: NAME.asc,
  '-name': NAME.desc,
  rating: RATING.asc,
  '-rating': RATING.desc,
  reviews_count: REVIEWS.asc,
  '-reviews_count': REVIEWS.desc,
};

/** ORDER BY for a sort: the key, then id the same way. */
export function orderBy(sort: PlaceSort): string {
  const { expr, desc, nullable } = SORTS[sort];
  const dir = desc ? 'DESC' : 'ASC';
  return `${expr} ${dir}${nullable ? ' NULLS LAST' : ''}, p.id ${dir}`;
}

/**
 * Whether a `q` search first looks among the list's first rows (PlacesService.pageRows): only
 * for the date sorts, which an index returns for every list and which are independent of the
 * name, so the first rows are a fair sample of the names. A name sort clusters its rows by
 * their first word ("Apotek …" first): its first rows rarely hold a substring found elsewhere.
 */
export function qWindowServes(sort: PlaceSort): boolean {
  return SORTS[sort].indexed === 'all';
}

/** The sort key as text (exact: timestamps keep their microseconds, reals round-trip), selected beside each row to build the next cursor. */
export function sortKeyColumn(sort: PlaceSort): string {
  return `(${SORTS[sort].expr})::text AS sort_key`;
}

/** Where a page ends: the sort it belongs to, the last row's sort key (null: a missing rating) and id. */
export interface PlaceCursor {
  sort: PlaceSort;
  key: string | null;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Opaque to clients: base64url of a small JSON array. */
export function encodeCursor(cursor: PlaceCursor): string {
  return Buffer.from(JSON.stringify([cursor.sort, cursor.key, cursor.id])).toString('base64url');
}

/** Decodes a client's cursor; a malformed one, or one made for another sort, answers 422. */
export function decodeCursor(text: string, sort: PlaceSort): PlaceCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  const [cursorSort, key, id] = Array.isArray(parsed) ? (parsed as unknown[]) : [];
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    cursorSort !== sort ||
    !(typeof key === 'string' || (key === null && SORTS[sort].nullable)) ||
    typeof id !== 'string' ||
    !UUID.test(id)
  )
    throw new UnprocessableEntityException([
      'cursor must be a meta.next_cursor returned by this list with the same sort',
    ]);
  return { sort, key, id };
}

/**
 * The keyset condition "after this row" in the sort's order. For a non-null key it is one
 * row comparison, `(key, id) > ($k, $id)`, which a B-tree index on (…, key, id) answers by
 * seeking straight to the spot: the cost of a page does not grow with its depth.
 */
export function afterCursor(cursor: PlaceCursor, param: (value: unknown) => string): string {
  const { expr, type, desc, nullable } = SORTS[cursor.sort];
  const op = desc ? '<' : '>';
  const id = param(cursor.id);
  if (cursor.key === null) return `(${expr} IS NULL AND p.id ${op} ${id}::uuid)`;
  const after = `(${expr}, p.id) ${op} (${param(cursor.key)}::${type}, ${id}::uuid)`;
  // NULLS LAST: every row without the value comes after every row with one.
  return nullable ? `(${after} OR ${expr} IS NULL)` : after;
}
