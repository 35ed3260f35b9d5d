import {
  Column,
  CreateDateColumn,
  Entity,
  ForeignKey,
  Index,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { User } from '../../auth/entities/user.entity.js';

export const CRAWLER_JOB_STATUSES = [
  'queued',
  'running',
  'completed',
  'failed',
  'cancelled',
] as const;
export type CrawlerJobStatus = (typeof CRAWLER_JOB_STATUSES)[number];
export const ACTIVE_STATUSES: readonly CrawlerJobStatus[] = ['queued', 'running'];
export const isTerminal = (status: CrawlerJobStatus) => !ACTIVE_STATUSES.includes(status);

/** What the backend sent RunPod for one keyword (index in `keywords`), kept so a retry resends only the rest. */
export interface RunpodDispatch {
  run_id: string | null;
  at: string;
}

// Declared as in the migration, so the schema check (test/e2e/migrations) sees no drift.
@Entity('crawler_jobs')
@Index('crawler_jobs_user_created_idx', ['userId', 'createdAt'])
@Index('crawler_jobs_created_idx', ['createdAt'])
@Index('crawler_jobs_status_idx', ['status'])
@Index('crawler_jobs_running_activity_idx', ['lastActivityAt'], { where: `"status" = 'running'` })
export class CrawlerJob {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => User, { name: 'crawler_jobs_user_id_fkey', onDelete: 'CASCADE' })
  userId!: string;

  @Column({
    type: 'enum',
    enum: CRAWLER_JOB_STATUSES,
    enumName: 'crawler_job_status',
    default: 'queued',
  })
  status!: CrawlerJobStatus;

  @Column({ type: 'text', array: true })
  keywords!: string[];

  @Column({ type: 'integer' })
  domainCount!: number;

  /** Bull priority it was queued with (lower runs first). */
  @Column({ type: 'integer' })
  priority!: number;

  /** CRAWLER_JOB_TIMEOUT when it was created: it fails after this long without hearing from RunPod. */
  @Column({ type: 'integer' })
  timeoutSeconds!: number;

  @Column({ type: 'smallint', default: 0 })
  progress!: number;

  /** Lines logged so far; also the last line's id (ids are 1…log_count). */
  @Column({ type: 'integer', default: 0 })
  logCount!: number;

  /** The latest `[SUMMARY]` object. */
  @Column({ type: 'jsonb', nullable: true })
  summary!: unknown;

  /** Every `[SUMMARY]` received, one per keyword, in arrival order. */
  @Column({ type: 'jsonb', default: [] })
  summaries!: unknown[];

  @Column({ type: 'integer', default: 0 })
  summaryCount!: number;

  @Column({ type: 'jsonb', default: [] })
  domains!: unknown[];

  @Column({ type: 'jsonb', default: {} })
  runpodRuns!: Record<string, RunpodDispatch>;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  /** Last time RunPod was heard from (dispatch answer or log line); drives the inactivity timeout. */
  @Column({ type: 'timestamptz', nullable: true })
  lastActivityAt!: Date | null;
}
