import { getQueueToken } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bull';
import { QUEUE_NAMES, type QueueName } from '@app/common';
import { AppConfig } from '@app/config';

/** The provider is probed at most this often, however often readiness is asked (probes cost the provider). */
export const PROVIDER_PROBE_TTL_MS = 30_000;
export const PROVIDER_PROBE_TIMEOUT_MS = 1_500;

export interface ProviderReachability {
  provider: string;
  reachable: boolean;
  checked_at: string;
  detail?: string;
}

/**
 * Facts for operators that are not readiness: a process with no queue worker anywhere, or a
 * provider that does not answer, is still ready to serve its API (scrapes queue and wait), so
 * these are reported as information and never turn the health check into a 503.
 */
@Injectable()
export class HealthInfoService {
  private probe: { at: number; result: Promise<ProviderReachability> } | null = null;

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

  /** python-api: `GET /health` answers 2xx. google-places: the API host answers at all (no billed call). */
  providerReachability(): Promise<ProviderReachability> {
    if (this.probe && Date.now() - this.probe.at < PROVIDER_PROBE_TTL_MS) return this.probe.result;
    const result = this.probeProvider();
    this.probe = { at: Date.now(), result };
    return result;
  }

  private async probeProvider(): Promise<ProviderReachability> {
    const { provider, pythonApiUrl, googlePlacesApiBase } = this.config.scraper;
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
