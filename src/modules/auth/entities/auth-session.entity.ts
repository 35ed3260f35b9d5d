import {
  Column,
  CreateDateColumn,
  Entity,
  ForeignKey,
  Index,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { User } from './user.entity.js';

/**
 * One sign-in: the `sid` of its access tokens and the family of its refresh tokens. Written
 * with SQL in SessionsService; declared as in the migration so the schema check sees no drift.
 */
@Entity('auth_sessions')
@Index('auth_sessions_user_id_idx', ['userId'])
export class AuthSession {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => User, { name: 'auth_sessions_user_id_fkey', onDelete: 'CASCADE' })
  userId!: string;

  /** SHA-256 (hex) of the current refresh token; every refresh replaces it. */
  @Column({ type: 'varchar', length: 64 })
  refreshTokenHash!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  refreshedAt!: Date | null;

  /** Sliding: each refresh moves it REFRESH_TOKEN_TTL ahead. */
  @Column({ type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  revokedReason!: string | null;
}
