import { performance } from 'node:perf_hooks';
import { Injectable, type MessageEvent } from '@nestjs/common';
import { tap, type MonoTypeOperatorFunction } from 'rxjs';
import type { PlacesProvider } from '@app/google-maps';
import { ProviderError } from '@app/google-maps';
import { RunpodError } from '@app/runpod';
import { collectDefaultMetrics, Gauge, Registry, type Metric } from 'prom-client';
import { AppConfig } from '@app/config';
import { FastCounter, FastHistogram } from './fast-instruments.js';
import { METRIC_DEFINITIONS, type MetricKey } from './metrics.definitions.js';

type Defs = typeof METRIC_DEFINITIONS;
type LabelsOf<D> = D extends { labelNames: readonly (infer L)[] } ? L & string : string;
type InstrumentOf<D> = D extends { type: 'counter' }
  ? FastCounter<LabelsOf<D>>
  : D extends { type: 'gauge' }
    ? Gauge<LabelsOf<D>>
    : FastHistogram<LabelsOf<D>>;
export type Instruments = { readonly [K in MetricKey]: InstrumentOf<Defs[K]> };

/** What every instrument becomes with METRICS_ENABLED=false: a call costs one empty function call. */
const NOOP_INSTRUMENT = {
  inc: () => undefined,
  dec: () => undefined,
  set: () => undefined,
  observe: () => undefined,
  reset: () => undefined,
  remove: () => undefined,
  startTimer: () => () => 0,
  labels: () => NOOP_INSTRUMENT,
};

/**
 * The process's Prometheus instruments, built from METRIC_DEFINITIONS into a registry of its
 * own (several apps in one test process never collide), plus prom-client's process defaults
 * (event-loop lag, heap, GC, CPU, handles). With METRICS_ENABLED=false every instrument is a
 * no-op and `registry` is null.
 *
 * Call sites use `metrics.m.<key>` (one line each); hot paths use children bound once.
 */
@Injectable()
export class Metrics {
  readonly enabled: boolean;
  readonly registry: Registry | null;
  readonly m: Instruments;

  constructor(config: AppConfig) {
    this.enabled = config.metrics.enabled;
    if (!this.enabled) {
      this.registry = null;
      this.m = Object.fromEntries(
        Object.keys(METRIC_DEFINITIONS).map((key) => [key, NOOP_INSTRUMENT]),
      ) as unknown as Instruments;
      return;
    }
    const registry = new Registry();
    registry.setDefaultLabels({ role: config.role });
    collectDefaultMetrics({ register: registry });
    const instruments: Record<string, unknown> = {};
    for (const [key, def] of Object.entries(METRIC_DEFINITIONS)) {
      const labelNames: string[] = 'labelNames' in def ? [...def.labelNames] : [];
      if (def.type === 'gauge') {
        // Gauges are set at scrape time (collect), never on a hot path: prom-client's own.
        instruments[key] = new Gauge({
          name: def.name,
          help: def.help,
          labelNames,
          registers: [registry],
        });
        continue;
      }
      const instrument =
        def.type === 'counter'
          ? new FastCounter(def.name, def.help, labelNames)
          : new FastHistogram(def.name, def.help, labelNames, def.buckets);
      registry.registerMetric(instrument as unknown as Metric);
      instruments[key] = instrument;
    }
    this.registry = registry;
    this.m = instruments as Instruments;
  }

  /**
   * The webhook's commit (CrawlerLogWriter): cost per append statement, not per line — three
   * unlabelled instrument updates. `startedAt` is `performance.now()` before the statement.
   */
  logBatchCommitted(lines: number, startedAt: number): void {
    this.m.crawlerLinesIngested.inc(lines);
    this.m.crawlerAppendBatchLines.observe(lines);
    this.m.crawlerAppendCommitSeconds.observe((performance.now() - startedAt) / 1000);
  }

  /** Counts the log lines an SSE stream sends (not `end` or keepalives): one increment per line. */
  readonly countDeliveredLines: MonoTypeOperatorFunction<MessageEvent> = tap((event) => {
    if (event.type === undefined && event.id !== undefined) this.m.crawlerLinesDelivered.inc();
  });

  /** A RunPod call failed: counted by kind (timeout, unreachable, server_error…). */
  runpodFailed(error: unknown): void {
    if (error instanceof RunpodError) this.m.runpodErrors.inc({ kind: error.kind });
  }

  /** The scraper provider, timed: duration and outcome (ok, retryable_error, fatal_error) per search. */
  instrumentProvider(provider: PlacesProvider): PlacesProvider {
    if (!this.enabled) return provider;
    const histogram = this.m.providerRequestDuration;
    return {
      name: provider.name,
      search: async (query, options) => {
        const end = histogram.startTimer({ provider: provider.name });
        try {
          const places = await provider.search(query, options);
          end({ outcome: 'ok' });
          return places;
        } catch (error) {
          const retryable = !(error instanceof ProviderError) || error.retryable;
          end({ outcome: retryable ? 'retryable_error' : 'fatal_error' });
          throw error;
        }
      },
    };
  }

  /** Places a scrape stored for its user, and those the user already had. */
  placesStored(result: { inserted: number; duplicates: number }): void {
    this.m.scraperPlaces.inc({ result: 'inserted' }, result.inserted);
    this.m.scraperPlaces.inc({ result: 'duplicate' }, result.duplicates);
  }

  /** Sets a gauge's value from `read` at each scrape (nothing to keep up to date in between). */
  gaugeFrom(gauge: Gauge<string>, read: () => number | Promise<number>): void {
    if (!this.enabled) return;
    (gauge as Gauge<string> & { collect?: () => unknown }).collect = async () => {
      gauge.set(await read());
    };
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    if (!this.registry) return { contentType: 'text/plain', body: '' };
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
