import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** One log line of a crawler job. Written in batches with raw SQL (see CrawlerLogWriter). */
@Entity('crawler_job_logs')
export class CrawlerJobLog {
  @PrimaryColumn({ type: 'uuid' })
  jobId!: string;

  /** 1, 2, 3… per job: the SSE event id. */
  @PrimaryColumn({ type: 'integer' })
  seq!: number;

  @Column({ type: 'text' })
  message!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
