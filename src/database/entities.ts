import { AuthSession } from '../modules/auth/entities/auth-session.entity.js';
import { User } from '../modules/auth/entities/user.entity.js';
import { CrawlerJobLog } from '../modules/crawler/entities/crawler-job-log.entity.js';
import { CrawlerJob } from '../modules/crawler/entities/crawler-job.entity.js';
import { GoogleMapPlace } from '../modules/places/entities/google-map-place.entity.js';
import { ScraperBatch } from '../modules/scraper/entities/scraper-batch.entity.js';
import { ScraperJob } from '../modules/scraper/entities/scraper-job.entity.js';

/** Every TypeORM entity of the app; each feature module adds its own here. */
export const ENTITIES = [
  User,
  AuthSession,
  CrawlerJob,
  CrawlerJobLog,
  ScraperJob,
  ScraperBatch,
  GoogleMapPlace,
];
