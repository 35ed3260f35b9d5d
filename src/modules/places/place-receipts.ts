import { Injectable, Logger } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { RedisService } from '@app/common';
import { AppConfig } from '@app/config';

/** What a receipt check found: whether the batch is already stored, and the version to record against (null: Redis could not say). */
export interface ReceiptCheck {
  covered: boolean;
  version: string | null;
}

/** The version of a user who has never had a place deleted (or whose version key expired). */
const NO_VERSION = '-';

/**
 * Receipts for batches of places a user already has, kept in Redis.
 *
 * A cached scrape is a batch that never changes (its cache key and scrape time name it).
 * Once it is stored for a user, each later cache hit of theirs would find every place a
 * duplicate; a receipt says so without a trip to PostgreSQL, which was most of such a
 * request's cost. A receipt holds the user's places *version*, read before the store;
 * deleting any of their places changes that version (before the delete commits), so no
 * receipt outlives a deletion and the next hit stores the batch again. A missing or
 * unreadable receipt only means the batch is stored the normal way: the database stays
 * the judge of what is a duplicate.
 *
 * Places removed behind the API's back (SQL by hand) are not seen: such a user's repeat
 * hits report those places as duplicates until the receipt expires with the cache entry.
 */
@Injectable()
export class PlaceReceipts {
  private readonly logger = new Logger(PlaceReceipts.name);

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {}

  /** Is this batch (its first `count` places) already stored for the user, since their last deletion? */
  async check(userId: string, batch: string, count: number): Promise<ReceiptCheck> {
    try {
      const [receipt, version = NO_VERSION] = (
        await this.redis.client.mget(this.receiptKey(userId, batch), this.versionKey(userId))
      ).map((value) => value ?? undefined);
      const [recordedVersion, recordedCount] = receipt?.split(' ') ?? [];
      return { covered: recordedVersion === version && Number(recordedCount) >= count, version };
    } catch (error) {
      this.logger.warn(`could not read a receipt: ${(error as Error).message}`);
      return { covered: false, version: null };
    }
  }

  /** After storing: the batch's first `count` places are stored for the user as of `version`. */
  async record(userId: string, batch: string, count: number, version: string): Promise<void> {
    await this.redis.client
      .set(
        this.receiptKey(userId, batch),
        `${version} ${count}`,
        'PX',
        this.config.scraper.cacheTtlMs,
      )
      .catch((error: Error) => this.logger.warn(`could not record a receipt: ${error.message}`));
  }

  /**
   * Voids every receipt of the user. Called inside the transaction deleting their place,
   * before it commits: a store racing the delete waits on the row and stores it again. The
   * version outlives any receipt recorded against the previous one.
   */
  async invalidate(userId: string): Promise<void> {
    await this.redis.client.set(
      this.versionKey(userId),
      randomUUID(),
      'PX',
      2 * this.config.scraper.cacheTtlMs,
    );
  }

  private receiptKey(userId: string, batch: string): string {
    return this.redis.key(
      'places',
      'receipt',
      userId,
      createHash('sha1').update(batch).digest('base64url'),
    );
  }

  private versionKey(userId: string): string {
    return this.redis.key('places', 'version', userId);
  }
}
