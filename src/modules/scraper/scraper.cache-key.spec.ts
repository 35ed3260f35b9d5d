import { describe, expect, it } from 'vitest';
import { normalizeQueryPart, scraperCacheKey } from './scraper.cache-key.js';

describe('scraper cache key', () => {
  it('folds case, accents and spacing', () => {
    expect(normalizeQueryPart('  Café\u00a0 KOPI\tSusu ')).toBe('cafe kopi susu');
    expect(scraperCacheKey('Coffee  Shop', ' jakarta SELATAN', 'Kebayoran Baru')).toBe(
      scraperCacheKey('coffee shop', 'Jakarta Selatan', '  kebayoran   baru'),
    );
  });

  it('treats a missing and an empty kecamatan alike, and a present one as different', () => {
    expect(scraperCacheKey('a', 'b', null)).toBe(scraperCacheKey('a', 'b', '  '));
    expect(scraperCacheKey('a', 'b', null)).not.toBe(scraperCacheKey('a', 'b', 'c'));
  });

  it('keeps the parts apart, whatever they contain', () => {
    expect(scraperCacheKey('a|b', 'c')).not.toBe(scraperCacheKey('a', 'b|c'));
    expect(scraperCacheKey('a b', 'c')).not.toBe(scraperCacheKey('a', 'b c'));
  });
});
