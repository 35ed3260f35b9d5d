import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Provider spend (docs/scraper.md#cost): every billed provider request in a ledger, each
 * user's month in a counter the budget is checked against atomically, a user's own budget,
 * and what each scrape job cost. Money is kept in micro-dollars (bigint): exact sums, no floats.
 */
export class CreateSpend1764000700000 implements MigrationInterface {
  name = 'CreateSpend1764000700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "provider_requests" (
        "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        "user_id" uuid NOT NULL,
        "job_id" uuid,
        "provider" varchar(32) NOT NULL,
        "sku" varchar(64) NOT NULL,
        "usd_micros" bigint NOT NULL,
        "at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "provider_requests_user_id_fkey" FOREIGN KEY ("user_id")
          REFERENCES "users" ("id") ON DELETE CASCADE
      )`);
    // The admin's spend per user / provider for today and this month reads a time range.
    await queryRunner.query(
      `CREATE INDEX "provider_requests_at_idx" ON "provider_requests" ("at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "provider_requests_user_at_idx" ON "provider_requests" ("user_id", "at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "provider_requests_job_idx" ON "provider_requests" ("job_id") WHERE "job_id" IS NOT NULL`,
    );
    // One row per user and month (UTC): reserved + spent, the one value a budget is checked against.
    await queryRunner.query(`
      CREATE TABLE "user_spend_months" (
        "user_id" uuid NOT NULL,
        "month" date NOT NULL,
        "usd_micros" bigint NOT NULL DEFAULT 0,
        "requests" integer NOT NULL DEFAULT 0,
        PRIMARY KEY ("user_id", "month"),
        CONSTRAINT "user_spend_months_user_id_fkey" FOREIGN KEY ("user_id")
          REFERENCES "users" ("id") ON DELETE CASCADE
      )`);
    // NULL: the role's default (SCRAPER_MONTHLY_BUDGET_USD …).
    await queryRunner.query(`ALTER TABLE "users" ADD "monthly_budget_usd" numeric(12,2)`);
    await queryRunner.query(`
      ALTER TABLE "scraper_jobs"
        ADD "cost_requests" integer NOT NULL DEFAULT 0,
        ADD "cost_usd_micros" bigint NOT NULL DEFAULT 0`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "scraper_jobs" DROP COLUMN "cost_usd_micros", DROP COLUMN "cost_requests"`,
    );
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "monthly_budget_usd"`);
    await queryRunner.query(`DROP TABLE "user_spend_months"`);
    await queryRunner.query(`DROP TABLE "provider_requests"`);
  }
}
