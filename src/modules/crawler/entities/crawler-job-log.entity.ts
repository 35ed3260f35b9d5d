import { Column, CreateDateColumn, Entity, ForeignKey, PrimaryColumn } from 'typeorm';
import { CrawlerJob } from './crawler-job.entity.js';

/** One log line of a crawler job. Written in batches with raw SQL (see CrawlerLogWriter). */
@Entity('crawler_job_logs')
export class CrawlerJobLog {
  @PrimaryColumn({ type: 'uuid' })
  @ForeignKey(() => CrawlerJob, { name: 'crawler_job_logs_job_id_fkey', onDelete: 'CASCADE' })
  jobId!: string;

  /** 1, 2, 3… per job: the SSE event id. */
  @PrimaryColumn({ type: 'integer' })
  seq!: number;

  @Column({ type: 'text' })
  message!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
