import {
  Column,
  CreateDateColumn,
  Entity,
  ForeignKey,
  Index,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { User } from '../../auth/entities/user.entity.js';

/**
 * Several areas (kecamatan) asked in one request: one scrape job per area, grouped here. The
 * batch holds only what its jobs share; its status, progress and results are read from its jobs.
 */
@Entity('scraper_batches')
@Index('scraper_batches_user_created_idx', ['userId', 'createdAt'])
export class ScraperBatch {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => User, { name: 'scraper_batches_user_id_fkey', onDelete: 'CASCADE' })
  userId!: string;

  @Column({ type: 'varchar', length: 200 })
  keyword!: string;

  @Column({ type: 'varchar', length: 200 })
  location!: string;

  @Column({ type: 'smallint' })
  maxResults!: number;

  /** How many areas (= jobs) it holds. */
  @Column({ type: 'smallint' })
  areas!: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
