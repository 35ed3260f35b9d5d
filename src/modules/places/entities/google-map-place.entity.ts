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
 * A place stored for one user. Unique per user + kecamatan + name (case-folded, a missing
 * kecamatan counting as empty): an expression index in the migration, the source of truth
 * for de-duplication.
 */
@Entity('google_map_places')
// Expression and trigram indexes TypeORM cannot describe (see the migrations): declared so
// schema sync leaves them alone.
@Index('google_map_places_user_kecamatan_name_key', { synchronize: false })
@Index('google_map_places_user_name_idx', { synchronize: false })
@Index('google_map_places_user_keyword_idx', { synchronize: false })
@Index('google_map_places_user_kecamatan_idx', { synchronize: false })
@Index('google_map_places_name_trgm_idx', { synchronize: false })
@Index('google_map_places_location_created_id_idx', { synchronize: false })
@Index('google_map_places_user_created_id_idx', ['userId', 'createdAt', 'id'])
@Index('google_map_places_created_id_idx', ['createdAt', 'id'])
@Index('google_map_places_scraper_job_idx', ['scraperJobId'])
export class GoogleMapPlace {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => User, { name: 'google_map_places_user_id_fkey', onDelete: 'CASCADE' })
  userId!: string;

  /** The scrape job that stored it (provenance; no foreign key, jobs may be pruned). */
  @Column({ type: 'uuid', nullable: true })
  scraperJobId!: string | null;

  @Column({ type: 'varchar', length: 500 })
  name!: string;

  @Column({ type: 'text', nullable: true })
  address!: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  phone!: string | null;

  @Column({ type: 'text', nullable: true })
  website!: string | null;

  @Column({ type: 'real', nullable: true })
  rating!: number | null;

  @Column({ type: 'integer', nullable: true })
  reviewsCount!: number | null;

  @Column({ type: 'varchar', length: 200, nullable: true })
  category!: string | null;

  @Column({ type: 'double precision', nullable: true })
  latitude!: number | null;

  @Column({ type: 'double precision', nullable: true })
  longitude!: number | null;

  @Column({ type: 'varchar', length: 300, nullable: true })
  googlePlaceId!: string | null;

  @Column({ type: 'varchar', length: 200, nullable: true })
  kecamatan!: string | null;

  @Column({ type: 'varchar', length: 200 })
  location!: string;

  @Column({ type: 'varchar', length: 200 })
  keyword!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
