import { CreateUsers1763800000000 } from './1763800000000-create-users.js';
import { CreateCrawler1763800100000 } from './1763800100000-create-crawler.js';
import { CreateScraperAndPlaces1763800200000 } from './1763800200000-create-scraper-and-places.js';
import { CreateAuthSessions1764000300000 } from './1764000300000-create-auth-sessions.js';
import { PlacesSearchIndexes1764000500000 } from './1764000500000-places-search-indexes.js';
import { PlacesFoldInline1764000500100 } from './1764000500100-places-fold-inline.js';
import { ScraperAreaCoverage1764000600000 } from './1764000600000-scraper-area-coverage.js';
import { CreateSpend1764000700000 } from './1764000700000-create-spend.js';
import { ScraperBatchesAndRouting1764000800000 } from './1764000800000-scraper-batches-and-routing.js';
import { PlacesLocationIndex1764000900000 } from './1764000900000-places-location-index.js';

/** Every migration, in order. A new migration file must be added here. */
export const MIGRATIONS = [
  CreateUsers1763800000000,
  CreateCrawler1763800100000,
  CreateScraperAndPlaces1763800200000,
  CreateAuthSessions1764000300000,
  PlacesSearchIndexes1764000500000,
  PlacesFoldInline1764000500100,
  ScraperAreaCoverage1764000600000,
  CreateSpend1764000700000,
  ScraperBatchesAndRouting1764000800000,
  PlacesLocationIndex1764000900000,
];
