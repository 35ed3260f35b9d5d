import { Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { RedisService } from '@app/common';
import { PLACE_LIST_CACHE_TTL_MS } from './places.constants.js';

/** Whose places a list covers: one user's, or everyone's (an admin without ?user_id). */
export type ListScope = string;
export const ALL_PLACES: ListScope = 'all';

/** One list request's view of the cache: entries of the scope's current generation. */
export interface ListCacheView {
  /** The cached values of these entries (null: not cached, or Redis unreachable). */
  get(entries: string[]): Promise<Array<string | null>>;
  set(entry: string, value: string | number): Promise<void>;
}

/**
 * Facts about a list that only change when the owner's places do, computed once per such
 * state and shared by every API process through Redis: the exact `meta.total` (counting
 * 200,000 rows was most of a list request's cost) and where a deep `?page=` starts (an
 * OFFSET walking 100,000 index entries was the rest).
 *
 * Each scope (a user, and `all` for admins) has a *generation*, bumped after every committed
 * insert or delete. An entry is filed under the generation read *before* it was computed, so
 * one racing a change lands under the old generation, which nobody reads after the bump: what
 * a list answers is exact as of the last change. Redis unreachable: lists compute everything
 * in PostgreSQL (still exact); a bump that could not be written is covered by the TTL, which
 * bounds how long an entry can lag.
 */
@Injectable()
export class PlaceListCache {
  private readonly logger = new Logger(PlaceListCache.name);

  constructor(private readonly redis: RedisService) {}

  /** One GET (the generation); entries are then read with one MGET. */
  async open(scope: ListScope): Promise<ListCacheView> {
    let generation: string;
    try {
      generation = (await this.redis.client.get(this.generationKey(scope))) ?? '0';
    } catch (error) {
      this.logger.warn(`list cache unreadable: ${(error as Error).message}`);
      return { get: async (entries) => entries.map(() => null), set: async () => undefined };
    }
    const key = (entry: string) =>
      this.redis.key(
        'places',
        'list',
        scope,
        generation,
        createHash('sha1').update(entry).digest('base64url'),
      );
    return {
      get: (entries) =>
        this.redis.client.mget(entries.map(key)).catch((error: Error) => {
          this.logger.warn(`list cache unreadable: ${error.message}`);
          return entries.map(() => null);
        }),
      set: (entry, value) =>
        this.redis.client
          .set(key(entry), value, 'PX', PLACE_LIST_CACHE_TTL_MS)
          .then(() => undefined)
          .catch((error: Error) => this.logger.warn(`could not cache: ${error.message}`)),
    };
  }

  /** After a committed change to a user's places: their lists, and everyone's, are stale. */
  async changed(userId: string): Promise<void> {
    await this.redis.client
      .multi()
      .incr(this.generationKey(userId))
      .incr(this.generationKey(ALL_PLACES))
      .exec()
      .catch((error: Error) => this.logger.warn(`could not void cached lists: ${error.message}`));
  }

  private generationKey(scope: ListScope): string {
    return this.redis.key('places', 'generation', scope);
  }
}
