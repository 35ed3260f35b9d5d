import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The places table at a million rows: indexes that serve every list filter, sort and the
 * accent-insensitive name search (docs/places.md has the plans and build times).
 *
 * Safe on a live table: every index is built with CREATE INDEX CONCURRENTLY, which takes no
 * lock that blocks writes (scrapes keep storing places while it runs), so the migration runs
 * outside a transaction. A build that fails halfway leaves an INVALID index behind: each step
 * drops it first, so running the migration again finishes the job.
 */

/**
 * `places_fold(text)`: lower-cased and accent-free ("Kópi" → "kopi"). unaccent() is only
 * STABLE (its dictionary could be changed), so an index cannot use it directly; this wrapper
 * names the dictionary explicitly and is declared IMMUTABLE, which is what makes an expression
 * index on it possible. Changing the unaccent rules later means REINDEXing the trigram index.
 */
const FOLD_FUNCTION = `
  CREATE OR REPLACE FUNCTION places_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN lower(public.unaccent('public.unaccent'::regdictionary, $1))`;

/** The new indexes, in build order; `PLACES_INDEXES` is also read by bench:places to time each on 1M rows. */
export const PLACES_INDEXES: ReadonlyArray<{ name: string; definition: string; serves: string }> = [
  {
    name: 'google_map_places_user_created_id_idx',
    definition: '("user_id", "created_at", "id")',
    serves: 'a user’s list by date (default sort), either direction, and its cursor',
  },
  {
    name: 'google_map_places_created_id_idx',
    definition: '("created_at", "id")',
    serves: 'the admin’s list of everyone’s places by date, and its cursor',
  },
  {
    name: 'google_map_places_user_name_idx',
    definition: '("user_id", lower("name"), "id")',
    serves: 'a user’s list sorted by name, either direction, and its cursor',
  },
  {
    name: 'google_map_places_user_keyword_idx',
    definition: '("user_id", lower("keyword"), "created_at", "id")',
    serves: '?keyword= (case-insensitive) with the default sort',
  },
  {
    name: 'google_map_places_user_kecamatan_idx',
    definition: `("user_id", lower(coalesce("kecamatan", '')), "created_at", "id")`,
    serves: '?kecamatan= (case-insensitive) with the default sort',
  },
  {
    name: 'google_map_places_name_trgm_idx',
    definition: 'USING gin (places_fold("name") gin_trgm_ops)',
    serves: '?q= substring search, accent- and case-insensitive',
  },
];

/** Indexes no query uses any more (the lists compare lower(column)): dropped so storing places stays fast. */
const REPLACED_INDEXES = [
  {
    name: 'google_map_places_user_created_idx',
    definition: '("user_id", "created_at")',
  },
  {
    name: 'google_map_places_kecamatan_location_idx',
    definition: '("kecamatan", "location")',
  },
  { name: 'google_map_places_name_idx', definition: '("name")' },
];

const create = (index: { name: string; definition: string }, concurrently = 'CONCURRENTLY') =>
  `CREATE INDEX ${concurrently} "${index.name}" ON "google_map_places" ${index.definition}`;
const drop = (name: string, concurrently = 'CONCURRENTLY') =>
  `DROP INDEX ${concurrently} IF EXISTS "${name}"`;

export class PlacesSearchIndexes1764000500000 implements MigrationInterface {
  name = 'PlacesSearchIndexes1764000500000';
  /** CREATE INDEX CONCURRENTLY cannot run inside a transaction. */
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    // An index build on a million rows outlasts the pool's 30 s statement timeout.
    await queryRunner.query(`SET statement_timeout = 0`);
    // Trusted extensions (PostgreSQL 13+): the database owner may create them.
    await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public`);
    await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public`);
    await queryRunner.query(FOLD_FUNCTION);
    for (const index of PLACES_INDEXES) {
      await queryRunner.query(drop(index.name));
      await queryRunner.query(create(index));
    }
    for (const index of REPLACED_INDEXES) await queryRunner.query(drop(index.name));
    await queryRunner.query(`RESET statement_timeout`);
  }

  /**
   * TypeORM reverts inside a transaction whatever `transaction` says (its undo ignores it), where
   * CONCURRENTLY is not allowed: then the indexes are built with a lock. On a live table revert
   * with `npm run migration:revert -- -t none` to keep writes flowing.
   */
  async down(queryRunner: QueryRunner): Promise<void> {
    const concurrently = queryRunner.isTransactionActive ? '' : 'CONCURRENTLY';
    await queryRunner.query(`SET statement_timeout = 0`);
    for (const index of REPLACED_INDEXES) {
      await queryRunner.query(drop(index.name, concurrently));
      await queryRunner.query(create(index, concurrently));
    }
    for (const index of [...PLACES_INDEXES].reverse())
      await queryRunner.query(drop(index.name, concurrently));
    await queryRunner.query(`DROP FUNCTION IF EXISTS places_fold(text)`);
    await queryRunner.query(`DROP EXTENSION IF EXISTS unaccent`);
    await queryRunner.query(`DROP EXTENSION IF EXISTS pg_trgm`);
    await queryRunner.query(`RESET statement_timeout`);
  }
}
