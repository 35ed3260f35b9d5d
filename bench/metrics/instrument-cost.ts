/**
 * What the metrics add to the hot paths, per call, in-process: `npm run bench:metrics`.
 * Less exposed to a busy machine than bench:crawler's end-to-end figures (which compare
 * METRICS_ENABLED=true/false through real processes): each row times the exact calls a hot path
 * makes, a million times, with metrics on and off. Table on stdout, JSON in bench/results/.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { of } from 'rxjs';
import { loadAppConfig } from '@app/config';
import { Metrics } from '../../src/modules/metrics/metrics.service.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const N = 1_000_000;

function time(fn: (i: number) => void): number {
  for (let i = 0; i < 10_000; i++) fn(i); // warm up
  const start = performance.now();
  for (let i = 0; i < N; i++) fn(i);
  return ((performance.now() - start) * 1e6) / N; // ns per call
}

function measure(enabled: boolean) {
  const { config } = loadAppConfig({ METRICS_ENABLED: String(enabled) });
  const metrics = new Metrics(config);
  const child = metrics.m.httpRequestDuration.labels({
    method: 'POST',
    route: '/api/crawler/log',
    status_class: '2xx',
  });
  const events = Array.from({ length: 1000 }, (_, i) => ({ id: String(i), data: 'line' }));
  let delivered = 0;
  return {
    // installHttpMetrics' per-route onResponse hook: one observe on a pre-bound child.
    'HTTP request (any route)': time((i) => child.observe((i % 50) / 1000)),
    // CrawlerLogWriter: per append statement (one per job per group commit, not per request).
    'webhook append statement': time(() => metrics.logBatchCommitted(1, performance.now())),
    // SSE: per delivered line (the rxjs tap) — measured over 1000-line observables, per line.
    'SSE line delivered': time((i) => {
      if (i % 1000 === 0)
        of(...events)
          .pipe(metrics.countDeliveredLines)
          .subscribe(() => delivered++);
    }),
    // CrawlerLogBus: per live batch per viewer.
    'SSE batch delivery lag': time(() => metrics.m.crawlerDeliveryLag.observe(0.002)),
  };
}

const on = measure(true);
const off = measure(false);
const rows = Object.keys(on).map((name) => ({
  call: name,
  'metrics on, ns': Math.round(on[name as keyof typeof on]),
  'metrics off, ns': Math.round(off[name as keyof typeof off]),
  'added, ns': Math.round(on[name as keyof typeof on] - off[name as keyof typeof off]),
}));
console.log(`Metrics instrument cost (${N.toLocaleString()} calls each, in-process)`);
console.table(rows);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const file = join(
  ROOT,
  `bench/results/metrics-cost-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
);
writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), calls: N, rows }, null, 2));
console.log(`results written to ${file}`);
