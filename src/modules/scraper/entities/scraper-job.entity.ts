import {
  ForeignKey,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { User } from '../../auth/entities/user.entity.js';
import { ScraperBatch } from './scraper-batch.entity.js';

export const SCRAPER_JOB_STATUSES = ['queued', 'processing', 'completed', 'failed'] as const;
export type ScraperJobStatus = (typeof SCRAPER_JOB_STATUSES)[number];
export const FINAL_SCRAPER_STATUSES: ReadonlySet<ScraperJobStatus> = new Set([
  'completed',
  'failed',
]);

export interface ScrapeResult {
  /** Places the provider found. */
  total: number;
  /** Newly stored for the user. */
  inserted: number;
  /** Skipped: the user already had a place with that name in that kecamatan. */
  duplicates: number;
  /** Area coverage only: whether every cell of the area was searched, and if not why. */
  coverage?: 'complete' | 'truncated';
  truncated_reason?: 'budget' | 'requests' | 'depth' | 'max_results' | null;
  /** Area coverage only: billed requests this job made (cached cells cost none). */
  requests?: number;
  /** Area coverage only: cells done (searched or from the cache), known, and taken from the cache. */
  rectangles?: { done: number; known: number; cached: number };
}

export const SCRAPE_COVERAGES = ['query', 'area'] as const;
export type ScrapeCoverage = (typeof SCRAPE_COVERAGES)[number];

/** One scrape request: the row the API answers from; the Bull job carries its id. */
@Entity('scraper_jobs')
@Index('scraper_jobs_user_created_idx', ['userId', 'createdAt'])
@Index('scraper_jobs_created_idx', ['createdAt'])
@Index('scraper_jobs_batch_idx', ['batchId'])
export class ScraperJob {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => User, { name: 'scraper_jobs_user_id_fkey', onDelete: 'CASCADE' })
  userId!: string;

  @Column({ type: 'varchar', length: 200 })
  keyword!: string;

  @Column({ type: 'varchar', length: 200 })
  location!: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  kecamatan!: string | null;

  @Column({ type: 'smallint' })
  maxResults!: number;

  @Column({ type: 'varchar', length: 700 })
  cacheKey!: string;

  @Column({
    type: 'enum',
    enum: SCRAPER_JOB_STATUSES,
    enumName: 'scraper_job_status',
    default: 'queued',
  })
  status!: ScraperJobStatus;

  @Column({ type: 'smallint' })
  priority!: number;

  @Column({ type: 'smallint', default: 0 })
  progress!: number;

  @Column({ type: 'smallint', default: 0 })
  attemptsMade!: number;

  /** Answered from the cache: no provider call, no queue job. */
  @Column({ type: 'boolean', default: false })
  cached!: boolean;

  /** The caller asked to skip the cache. */
  @Column({ type: 'boolean', default: false })
  refresh!: boolean;

  @Column({ type: 'jsonb', nullable: true })
  result!: ScrapeResult | null;

  /** `query`: one Text Search (≤ 60 places); `area`: the area covered cell by cell. */
  @Column({ type: 'varchar', length: 8, default: 'query' })
  coverage!: ScrapeCoverage;

  /** The area given (`bounds`, or `polygon` and its bounds); null: the kecamatan's viewport. */
  @Column({ type: 'jsonb', nullable: true })
  area!: { bounds: unknown; polygon?: unknown } | null;

  /** Area coverage progress: cells done and known. */
  @Column({ type: 'integer', nullable: true })
  rectanglesDone!: number | null;

  @Column({ type: 'integer', nullable: true })
  rectanglesKnown!: number | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /** Billed provider requests this job made (0 from the cache or another job's call). */
  @Column({ type: 'integer', default: 0 })
  costRequests!: number;

  /** Their estimated price, micro-dollars (bigint: node-postgres returns it as a string). */
  @Column({ type: 'bigint', default: 0 })
  costUsdMicros!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  /** The batch it belongs to, when it was asked with several areas. */
  @Column({ type: 'uuid', nullable: true })
  @ForeignKey(() => ScraperBatch, { name: 'scraper_jobs_batch_id_fkey', onDelete: 'CASCADE' })
  batchId!: string | null;

  /** The provider that served it (after a fallback: the fallback); null until served. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  provider!: 'python-api' | 'google-places' | null;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
