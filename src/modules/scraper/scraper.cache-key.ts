import { SCRAPER_CACHE_KEY_PREFIX } from './scraper.constants.js';

/**
 * Folds what should not make two queries different: case, accents ("Cafe" = "Café"),
 * and spacing (leading, trailing, repeated, tabs, non-breaking spaces).
 */
export function normalizeQueryPart(value: string | null | undefined): string {
  return (value ?? '')
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/\s+/gu, ' ')
    .trim();
}

/** The cache key of a query: normalised keyword + location + kecamatan (an empty kecamatan = none). */
export function scraperCacheKey(
  keyword: string,
  location: string,
  kecamatan?: string | null,
): string {
  // `|` cannot be confused with the parts: it is escaped inside them.
  const part = (value: string | null | undefined) =>
    normalizeQueryPart(value).replace(/[|\\]/g, (c) => `\\${c}`);
  return `${SCRAPER_CACHE_KEY_PREFIX}:${part(keyword)}|${part(location)}|${part(kecamatan)}`;
}
