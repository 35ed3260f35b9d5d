import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `?location=` over everyone's places (the admin's list and export by city): without an index
 * PostgreSQL walked the date index over every row and dropped the other cities' — an admin CSV
 * export of one city's 100,000 places out of 1M ran at ~30,000 rows/s, bound by that walk. With
 * (lower(location), created_at, id) the rows come in the list's order straight from the index.
 * A user's own list keeps its (user_id, created_at, id) index: its rows are few enough to filter.
 *
 * Built CONCURRENTLY (no lock on a live table), hence outside a transaction.
 */
const INDEX = 'google_map_places_location_created_id_idx';

export class PlacesLocationIndex1764000900000 implements MigrationInterface {
  name = 'PlacesLocationIndex1764000900000';
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    // An index build on a million rows outlasts the pool's 30 s statement timeout.
    await queryRunner.query(`SET statement_timeout = 0`);
    // A build that failed halfway leaves an INVALID index: start over.
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "${INDEX}"`);
    await queryRunner.query(
      `CREATE INDEX CONCURRENTLY "${INDEX}" ON "google_map_places" (lower("location"), "created_at", "id")`,
    );
    await queryRunner.query(`RESET statement_timeout`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const concurrently = queryRunner.isTransactionActive ? '' : 'CONCURRENTLY';
    await queryRunner.query(`DROP INDEX ${concurrently} IF EXISTS "${INDEX}"`);
  }
}
