import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateCrawler1763800100000 implements MigrationInterface {
  name = 'CreateCrawler1763800100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TYPE "crawler_job_status" AS ENUM ('queued', 'running', 'completed', 'failed', 'cancelled')`,
    );
    await queryRunner.query(`
      CREATE TABLE "crawler_jobs" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "user_id" uuid NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
        "status" "crawler_job_status" NOT NULL DEFAULT 'queued',
        "keywords" text[] NOT NULL,
        "domain_count" integer NOT NULL,
        "priority" integer NOT NULL,
        "timeout_seconds" integer NOT NULL,
        "progress" smallint NOT NULL DEFAULT 0,
        "log_count" integer NOT NULL DEFAULT 0,
        "summary" jsonb,
        "summaries" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "summary_count" integer NOT NULL DEFAULT 0,
        "domains" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "runpod_runs" jsonb NOT NULL DEFAULT '{}'::jsonb,
        "error" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        "started_at" timestamptz,
        "finished_at" timestamptz,
        "last_activity_at" timestamptz
      )`);
    await queryRunner.query(
      `CREATE INDEX "crawler_jobs_user_created_idx" ON "crawler_jobs" ("user_id", "created_at" DESC)`,
    );
    await queryRunner.query(
      `CREATE INDEX "crawler_jobs_created_idx" ON "crawler_jobs" ("created_at" DESC)`,
    );
    await queryRunner.query(`CREATE INDEX "crawler_jobs_status_idx" ON "crawler_jobs" ("status")`);
    // The inactivity sweep only ever looks at running jobs.
    await queryRunner.query(
      `CREATE INDEX "crawler_jobs_running_activity_idx" ON "crawler_jobs" ("last_activity_at") WHERE "status" = 'running'`,
    );
    // `seq` is the line's SSE id: 1, 2, 3… per job, handed out from crawler_jobs.log_count in the
    // same statement that inserts the line, so ids are gap-free and commit-ordered per job.
    await queryRunner.query(`
      CREATE TABLE "crawler_job_logs" (
        "job_id" uuid NOT NULL REFERENCES "crawler_jobs" ("id") ON DELETE CASCADE,
        "seq" integer NOT NULL,
        "message" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY ("job_id", "seq")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "crawler_job_logs"`);
    await queryRunner.query(`DROP TABLE "crawler_jobs"`);
    await queryRunner.query(`DROP TYPE "crawler_job_status"`);
  }
}
