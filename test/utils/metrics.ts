import { Metrics } from '../../src/modules/metrics/metrics.service.js';
import { MetricsServer } from '../../src/modules/metrics/metrics.server.js';
import type { TestApp } from './test-app.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (enough of it for tests: no escapes in label values). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g))
      labels[pair[1]] = pair[2];
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** A scrape, with lookups: the sum of every series of `name` whose labels include `labels`. */
export class Scrape {
  constructor(readonly samples: Sample[]) {}

  value(name: string, labels: Record<string, string> = {}): number {
    return this.series(name, labels).reduce((sum, s) => sum + s.value, 0);
  }

  series(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  }

  has(name: string): boolean {
    return this.samples.some((s) => s.name === name);
  }
}

export function metricsUrl(t: TestApp): string {
  return `http://127.0.0.1:${t.app.get(MetricsServer).port}/metrics`;
}

/** GET /metrics from the app's metrics server (its own port), with the bearer token if it has one. */
export async function scrape(t: TestApp, url = metricsUrl(t)): Promise<Scrape> {
  const token = t.config.metrics.token;
  const res = await fetch(url, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  return new Scrape(parseMetrics(await res.text()));
}

export { Metrics };
