import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Area coverage (`coverage: "area"`): the job's mode, the area it was given, and its
 * progress in cells. Additive with defaults: existing rows are `query` jobs, as they were.
 */
export class ScraperAreaCoverage1764000600000 implements MigrationInterface {
  name = 'ScraperAreaCoverage1764000600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "scraper_jobs"
        ADD COLUMN "coverage" varchar(8) NOT NULL DEFAULT 'query',
        ADD COLUMN "area" jsonb,
        ADD COLUMN "rectangles_done" integer,
        ADD COLUMN "rectangles_known" integer`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "scraper_jobs"
        DROP COLUMN "rectangles_known",
        DROP COLUMN "rectangles_done",
        DROP COLUMN "area",
        DROP COLUMN "coverage"`);
  }
}
