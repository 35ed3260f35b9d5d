import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateScraperAndPlaces1763800200000 implements MigrationInterface {
  name = 'CreateScraperAndPlaces1763800200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TYPE "scraper_job_status" AS ENUM ('queued', 'processing', 'completed', 'failed')`,
    );
    await queryRunner.query(`
      CREATE TABLE "scraper_jobs" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "user_id" uuid NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
        "keyword" varchar(200) NOT NULL,
        "location" varchar(200) NOT NULL,
        "kecamatan" varchar(200),
        "max_results" smallint NOT NULL,
        "cache_key" varchar(700) NOT NULL,
        "status" "scraper_job_status" NOT NULL DEFAULT 'queued',
        "priority" smallint NOT NULL,
        "progress" smallint NOT NULL DEFAULT 0,
        "attempts_made" smallint NOT NULL DEFAULT 0,
        "cached" boolean NOT NULL DEFAULT false,
        "refresh" boolean NOT NULL DEFAULT false,
        "result" jsonb,
        "error" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "started_at" timestamptz,
        "finished_at" timestamptz,
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    // "My jobs, newest first" and the admin's 24-hour cache statistics.
    await queryRunner.query(
      `CREATE INDEX "scraper_jobs_user_created_idx" ON "scraper_jobs" ("user_id", "created_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "scraper_jobs_created_idx" ON "scraper_jobs" ("created_at")`,
    );

    await queryRunner.query(`
      CREATE TABLE "google_map_places" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "user_id" uuid NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
        "scraper_job_id" uuid,
        "name" varchar(500) NOT NULL,
        "address" text,
        "phone" varchar(100),
        "website" text,
        "rating" real,
        "reviews_count" integer,
        "category" varchar(200),
        "latitude" double precision,
        "longitude" double precision,
        "google_place_id" varchar(300),
        "kecamatan" varchar(200),
        "location" varchar(200) NOT NULL,
        "keyword" varchar(200) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    // The de-duplication rule (name + kecamatan + user) lives in the database, so concurrent
    // jobs can never both insert the same place. An expression index rather than
    // NULLS NOT DISTINCT: a missing kecamatan and an empty one must be the same, and
    // "Kopi Kenangan" and "kopi kenangan" are one place. INSERT … ON CONFLICT DO NOTHING
    // relies on it.
    await queryRunner.query(`
      CREATE UNIQUE INDEX "google_map_places_user_kecamatan_name_key"
        ON "google_map_places" ("user_id", lower(coalesce("kecamatan", '')), lower("name"))`);
    // The indexes of the earlier setup: a user's places by date, by area, by name.
    await queryRunner.query(
      `CREATE INDEX "google_map_places_user_created_idx" ON "google_map_places" ("user_id", "created_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "google_map_places_kecamatan_location_idx" ON "google_map_places" ("kecamatan", "location")`,
    );
    await queryRunner.query(
      `CREATE INDEX "google_map_places_name_idx" ON "google_map_places" ("name")`,
    );
    // Which job stored a place: lets a re-run job (retry, stalled worker) report exact counts.
    // No foreign key: places outlive the pruning of old job rows.
    await queryRunner.query(
      `CREATE INDEX "google_map_places_scraper_job_idx" ON "google_map_places" ("scraper_job_id")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "google_map_places"`);
    await queryRunner.query(`DROP TABLE "scraper_jobs"`);
    await queryRunner.query(`DROP TYPE "scraper_job_status"`);
  }
}
