import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sessions behind access tokens (their `sid` claim) and refresh tokens. A refresh token is
 * `<session id>.<random secret>`; only the SHA-256 of the current one is stored, and each
 * refresh replaces it (rotation). See docs/auth.md.
 */
export class CreateAuthSessions1764000300000 implements MigrationInterface {
  name = 'CreateAuthSessions1764000300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "auth_sessions" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "user_id" uuid NOT NULL,
        "refresh_token_hash" varchar(64) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "refreshed_at" timestamptz,
        "expires_at" timestamptz NOT NULL,
        "revoked_at" timestamptz,
        "revoked_reason" varchar(32),
        CONSTRAINT "auth_sessions_user_id_fkey" FOREIGN KEY ("user_id")
          REFERENCES "users" ("id") ON DELETE CASCADE
      )`);
    // Revoke-all and the per-user clean-up at login look sessions up by user.
    await queryRunner.query(
      `CREATE INDEX "auth_sessions_user_id_idx" ON "auth_sessions" ("user_id")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "auth_sessions"`);
  }
}
