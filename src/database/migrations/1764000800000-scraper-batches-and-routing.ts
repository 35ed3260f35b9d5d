import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Several areas in one request (`scraper_batches`, a job's `batch_id`) and provider routing
 * (`provider`: which provider served a job). Additive: nullable columns with no default, so the
 * ALTERs only touch the catalogue, and the new index is empty-cheap on existing rows.
 */
export class ScraperBatchesAndRouting1764000800000 implements MigrationInterface {
  name = 'ScraperBatchesAndRouting1764000800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "scraper_batches" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "user_id" uuid NOT NULL,
        "keyword" varchar(200) NOT NULL,
        "location" varchar(200) NOT NULL,
        "max_results" smallint NOT NULL,
        "areas" smallint NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "scraper_batches_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE
      )`);
    // "My batches, newest first".
    await queryRunner.query(
      `CREATE INDEX "scraper_batches_user_created_idx" ON "scraper_batches" ("user_id", "created_at")`,
    );
    await queryRunner.query(`ALTER TABLE "scraper_jobs" ADD "batch_id" uuid`);
    await queryRunner.query(`ALTER TABLE "scraper_jobs" ADD "provider" varchar(32)`);
    await queryRunner.query(`
      ALTER TABLE "scraper_jobs" ADD CONSTRAINT "scraper_jobs_batch_id_fkey"
        FOREIGN KEY ("batch_id") REFERENCES "scraper_batches" ("id") ON DELETE CASCADE`);
    // A batch's jobs (its aggregate and its events stream read them by batch).
    await queryRunner.query(`CREATE INDEX "scraper_jobs_batch_idx" ON "scraper_jobs" ("batch_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "scraper_jobs_batch_idx"`);
    await queryRunner.query(
      `ALTER TABLE "scraper_jobs" DROP CONSTRAINT "scraper_jobs_batch_id_fkey"`,
    );
    await queryRunner.query(`ALTER TABLE "scraper_jobs" DROP COLUMN "provider"`);
    await queryRunner.query(`ALTER TABLE "scraper_jobs" DROP COLUMN "batch_id"`);
    await queryRunner.query(`DROP TABLE "scraper_batches"`);
  }
}
