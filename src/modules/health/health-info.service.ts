import { getQueueToken } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bull';
import { QUEUE_NAMES, type QueueName } from '@app/common';
import { AppConfig, type ProviderName, type UserRole } from '@app/config';
import { routedProviders } from '../scraper/scraper-providers.service.js';

/** The provider is probed at most this often, however often readiness is asked (probes cost the provider). */
export const PROVIDER_PROBE_TTL_MS = 30_000;
export const PROVIDER_PROBE_TIMEOUT_MS = 1_500;

export interface ProviderReachability {
  provider: ProviderName;
  reachable: boolean;
  checked_at: string;
  detail?: string;
}

/** One provider this deployment routes to (`scraper_providers` in /api/health). */
export interface RoutedProviderStatus extends ProviderReachability {
  /** It has what a call needs: google-places its GOOGLE_MAPS_API_KEY; python-api its URL (the key is optional). */
  configured: boolean;
  /** The roles whose jobs go to it (SCRAPER_PROVIDER_<ROLE>, default SCRAPER_PROVIDER). */
  roles: UserRole[];
  /** It is SCRAPER_PROVIDER. */
  default: boolean;
  /** It is SCRAPER_PROVIDER_FALLBACK. */
  fallback: boolean;
}

/**
 * Facts for operators that are not readiness: a process with no queue worker anywhere, or a
 * provider that does not answer, is still ready to serve its API (scrapes queue and wait), so
 * these are reported as information and never turn the health check into a 503.
 */
@Injectable()
export class HealthInfoService {
  private readonly probes = new Map<
    ProviderName,
    { at: number; result: Promise<ProviderReachability> }
  >();

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly config: AppConfig,
  ) {}

  /** Queue processors connected to Redis right now, per queue, across every worker process (Bull's CLIENT LIST). */
  async queueWorkers(): Promise<Record<QueueName, number> | { error: string }> {
    try {
      const entries = await Promise.all(
        Object.values(QUEUE_NAMES).map(async (name) => {
          const queue = this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
          return [name, (await queue.getWorkers()).length] as const;
        }),
      );
      return Object.fromEntries(entries) as Record<QueueName, number>;
    } catch (error) {
      return { error: (error as Error).message };
    }
  }

  /** SCRAPER_PROVIDER's reachability (the `scraper_provider` field, kept as it was). */
  async providerReachability(): Promise<ProviderReachability> {
    const { provider, reachable, checked_at, detail } = await this.reachability(
      this.config.scraper.provider,
    );
    return { provider, reachable, checked_at, detail };
  }

  /**
   * Every provider routed to — SCRAPER_PROVIDER, each role's, the fallback — with its routes,
   * whether its credentials are set and whether it answers, keyed by provider name.
   */
  async routedProviders(): Promise<Partial<Record<ProviderName, RoutedProviderStatus>>> {
    const { provider, providerByRole, fallbackProvider, googleApiKey, pythonApiUrl } =
      this.config.scraper;
    const entries = await Promise.all(
      [...routedProviders(this.config.scraper)].map(async (name) => {
        const status: RoutedProviderStatus = {
          ...(await this.reachability(name)),
          configured: Boolean(name === 'google-places' ? googleApiKey : pythonApiUrl),
          roles: (Object.keys(providerByRole) as UserRole[]).filter(
            (role) => providerByRole[role] === name,
          ),
          default: name === provider,
          fallback: name === fallbackProvider,
        };
        return [name, status] as const;
      }),
    );
    return Object.fromEntries(entries);
  }

  /**
   * python-api: `GET /health` answers 2xx. google-places: the API host answers at all, to a
   * request without a key or a Places method — nothing Google bills. Cached per provider.
   */
  private reachability(provider: ProviderName): Promise<ProviderReachability> {
    const cached = this.probes.get(provider);
    if (cached && Date.now() - cached.at < PROVIDER_PROBE_TTL_MS) return cached.result;
    const result = this.probeProvider(provider);
    this.probes.set(provider, { at: Date.now(), result });
    return result;
  }

  private async probeProvider(provider: ProviderName): Promise<ProviderReachability> {
    const { pythonApiUrl, googlePlacesApiBase } = this.config.scraper;
    const url = provider === 'python-api' ? `${pythonApiUrl}/health` : `${googlePlacesApiBase}/`;
    const checked_at = new Date().toISOString();
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(PROVIDER_PROBE_TIMEOUT_MS) });
      await response.body?.cancel();
      const reachable = provider === 'python-api' ? response.ok : true;
      return { provider, reachable, checked_at, detail: `HTTP ${response.status}` };
    } catch (error) {
      const err = error as Error & { cause?: { code?: string } };
      return { provider, reachable: false, checked_at, detail: err.cause?.code ?? err.message };
    }
  }
}
