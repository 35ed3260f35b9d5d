import { Injectable } from '@nestjs/common';
import { AppConfig, type ProviderName, type UserRole } from '@app/config';
import { createPlacesProvider, type PlacesProvider } from '@app/google-maps';
import { Metrics } from '../metrics/metrics.service.js';
import { scraperCacheKey } from './scraper.cache-key.js';

/**
 * Provider routing: which provider serves each role (SCRAPER_PROVIDER_<ROLE>), and the one a
 * job falls back to when its own is unavailable (SCRAPER_PROVIDER_FALLBACK). Every provider
 * routed to is built once at start-up, so a missing key stops the process, not a job.
 */
@Injectable()
export class ScraperProviders {
  private readonly providers = new Map<ProviderName, PlacesProvider>();

  constructor(
    private readonly config: AppConfig,
    metrics: Metrics,
  ) {
    for (const name of routedProviders(config.scraper))
      this.providers.set(
        name,
        metrics.instrumentProvider(createPlacesProvider(config.scraper, name)),
      );
  }

  /** The provider a role's jobs go to. */
  primaryFor(role: UserRole): ProviderName {
    return this.config.scraper.providerByRole[role];
  }

  /** A configured provider; a job queued before a routing change falls to SCRAPER_PROVIDER. */
  get(name: ProviderName | undefined): PlacesProvider {
    return (
      this.providers.get(name ?? this.config.scraper.provider) ??
      this.providers.get(this.config.scraper.provider)!
    );
  }

  /** The provider that serves a job when `name` is unavailable; none when unset or the same. */
  fallbackFor(name: ProviderName): PlacesProvider | undefined {
    const fallback = this.config.scraper.fallbackProvider;
    return fallback && fallback !== name ? this.providers.get(fallback) : undefined;
  }

  /**
   * The cache (and single-flight) key of a query answered by `provider`: two providers answer
   * the same query differently, so neither is served the other's answer. SCRAPER_PROVIDER's
   * keys carry no suffix, so a deployment with one provider keeps the keys (and cache) it had.
   */
  cacheKey(
    keyword: string,
    location: string,
    kecamatan: string | null | undefined,
    provider: ProviderName,
  ): string {
    const key = scraperCacheKey(keyword, location, kecamatan);
    // `|` inside a part is escaped, so a fourth part cannot be confused with the third.
    return provider === this.config.scraper.provider ? key : `${key}|@${provider}`;
  }

  /** For the worker's start-up line: `user → python-api, premium → google-places, …, fallback …`. */
  describe(): string {
    const routes = Object.entries(this.config.scraper.providerByRole)
      .map(([role, name]) => `${role} → ${name}`)
      .join(', ');
    return `${routes}, fallback ${this.config.scraper.fallbackProvider ?? 'none'}`;
  }
}

/** Every provider this deployment uses: SCRAPER_PROVIDER, each role's, and the fallback. */
export function routedProviders({
  provider,
  providerByRole,
  fallbackProvider,
}: Pick<
  AppConfig['scraper'],
  'provider' | 'providerByRole' | 'fallbackProvider'
>): Set<ProviderName> {
  const names = new Set<ProviderName>([provider, ...Object.values(providerByRole)]);
  if (fallbackProvider) names.add(fallbackProvider);
  return names;
}
