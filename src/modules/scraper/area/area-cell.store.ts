import { Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { RedisService } from '@app/common';
import { AppConfig } from '@app/config';
import { ancestors, boundsContain, cellBounds, cellKey, type Cell } from '@app/google-maps';
import { normalizeQueryPart } from '../scraper.cache-key.js';
import { AREA_ANCESTOR_LOOKUP, AREA_CELL_KEY } from '../scraper.constants.js';
import type { CellResult, CellStore, Tile } from './area-coverage.js';

/**
 * Searched cells in Redis, per normalised keyword, for the cache TTL, shared by every user.
 * One MGET per wave of cells: for each tile its own key, its whole cell's and up to
 * AREA_ANCESTOR_LOOKUP ancestors' — an ancestor whose search was not full already holds
 * every place of the cell. A Redis failure is a miss (the cell is searched), never an error.
 */
@Injectable()
export class AreaCellStore implements CellStore {
  private readonly logger = new Logger(AreaCellStore.name);

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {}

  async get(
    keyword: string,
    tiles: Tile[],
    notBefore: number,
  ): Promise<Array<CellResult | undefined>> {
    if (!tiles.length) return [];
    const plans = tiles.map((tile) => {
      const keys = [
        ...(tile.clip ? [this.key(keyword, tile.cell, tile.clip)] : []),
        this.key(keyword, tile.cell),
        ...ancestors(tile.cell)
          .slice(0, AREA_ANCESTOR_LOOKUP)
          .map((cell) => this.key(keyword, cell)),
      ];
      return { tile, keys, own: tile.clip ? 2 : 1 };
    });
    let values: Array<string | null>;
    try {
      values = await this.redis.client.mget(plans.flatMap((plan) => plan.keys));
    } catch (error) {
      this.logger.warn(`could not read cached cells: ${(error as Error).message}`);
      return tiles.map(() => undefined);
    }
    let offset = 0;
    return plans.map(({ tile, keys, own }) => {
      const found = values.slice(offset, offset + keys.length);
      offset += keys.length;
      for (const [i, raw] of found.entries()) {
        if (!raw) continue;
        const result = JSON.parse(raw) as CellResult;
        if (result.at < notBefore) continue;
        if (i < own) return result;
        // An ancestor: only a search that was not full holds all of the cell's places.
        if (result.full) continue;
        const bounds = cellBounds(tile.cell);
        return {
          places: result.places.filter(
            (p) =>
              p.latitude !== null &&
              p.longitude !== null &&
              boundsContain(bounds, { lat: p.latitude, lng: p.longitude }),
          ),
          full: false,
          at: result.at,
        };
      }
      return undefined;
    });
  }

  async set(keyword: string, tile: Tile, result: CellResult): Promise<void> {
    try {
      await this.redis.client.set(
        this.key(keyword, tile.cell, tile.clip),
        JSON.stringify(result),
        'PX',
        this.config.scraper.cacheTtlMs,
      );
    } catch (error) {
      // Only a later search pays for it again.
      this.logger.warn(`could not cache cell ${cellKey(tile.cell)}: ${(error as Error).message}`);
    }
  }

  private key(keyword: string, cell: Cell, clip?: string | null): string {
    const hash = createHash('sha256')
      .update(normalizeQueryPart(keyword))
      .digest('hex')
      .slice(0, 32);
    return this.redis.key(AREA_CELL_KEY, hash, cellKey(cell) + (clip ? `:${clip}` : ''));
  }
}
