import { performance } from 'node:perf_hooks';

/**
 * Counters and histograms for hot paths, exported through a prom-client Registry (which accepts
 * any object with `name` and `get()`).
 *
 * Why not prom-client's own: its children re-validate and re-hash their labels on every call
 * (`observe` allocates a labels/value pair, builds a hash string and looks it up) — about a
 * microsecond a call, on every webhook request. Here a child bound once (`labels(...)`) is a
 * plain object: `observe` is a bucket search and three additions, `inc` one addition; nothing is
 * allocated. Label objects are only built when binding (once per route / outcome) and at scrape.
 */

type Labels<L extends string> = Partial<Record<L, string | number>>;

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface MetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: MetricValue[];
}

abstract class LabelledMetric<L extends string, C> {
  private readonly children = new Map<string, C>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
  ) {}

  /** The child for these label values, created on first use and kept: bind it once on hot paths. */
  labels(labels: Labels<L> = {}): C {
    for (const name in labels)
      if (!this.labelNames.includes(name)) throw new Error(`${this.name}: unknown label "${name}"`);
    const key = this.labelNames.map((name) => String(labels[name] ?? '')).join('\u0001');
    let child = this.children.get(key);
    if (!child) {
      const bound: Record<string, string | number> = {};
      for (const name of this.labelNames)
        if (labels[name] !== undefined) bound[name] = labels[name];
      child = this.createChild(bound);
      this.children.set(key, child);
    }
    return child;
  }

  protected abstract createChild(labels: Record<string, string | number>): C;

  protected get all(): Iterable<C> {
    return this.children.values();
  }
}

export class FastCounterChild {
  value = 0;
  constructor(readonly labels: Record<string, string | number>) {}
  inc(by = 1): void {
    this.value += by;
  }
}

export class FastCounter<L extends string = string> extends LabelledMetric<L, FastCounterChild> {
  private readonly unlabelled = this.labels();

  /** `inc()`, `inc(n)`, `inc({label: v})`, `inc({label: v}, n)` — as prom-client's Counter. */
  inc(labelsOrBy?: Labels<L> | number, by = 1): void {
    if (labelsOrBy === undefined) this.unlabelled.value += 1;
    else if (typeof labelsOrBy === 'number') this.unlabelled.value += labelsOrBy;
    else this.labels(labelsOrBy).value += by;
  }

  protected createChild(labels: Record<string, string | number>): FastCounterChild {
    return new FastCounterChild(labels);
  }

  get(): MetricSnapshot {
    const values: MetricValue[] = [];
    for (const child of this.all)
      if (child.value || Object.keys(child.labels).length)
        values.push({ labels: child.labels, value: child.value });
    return { name: this.name, help: this.help, type: 'counter', aggregator: 'sum', values };
  }
}

export class FastHistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Record<string, string | number>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    if (i < bounds.length) this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

export class FastHistogram<L extends string = string> extends LabelledMetric<
  L,
  FastHistogramChild
> {
  private readonly unlabelled: FastHistogramChild;

  constructor(
    name: string,
    help: string,
    labelNames: readonly L[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
    this.unlabelled = this.labels();
  }

  observe(value: number): void {
    this.unlabelled.observe(value);
  }

  /** Starts a timer; the returned function observes the elapsed seconds with both label sets (not for hot paths). */
  startTimer(labels: Labels<L> = {}): (more?: Labels<L>) => number {
    const start = performance.now();
    return (more = {}) => {
      const seconds = (performance.now() - start) / 1000;
      this.labels({ ...labels, ...more }).observe(seconds);
      return seconds;
    };
  }

  protected createChild(labels: Record<string, string | number>): FastHistogramChild {
    return new FastHistogramChild(labels, this.buckets);
  }

  get(): MetricSnapshot {
    const values: MetricValue[] = [];
    for (const child of this.all) {
      // Unobserved children (every route × status class is bound up front) would be thousands of zero series.
      if (!child.count) continue;
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += child.counts[i];
        values.push({
          labels: { ...child.labels, le },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      });
      values.push({
        labels: { ...child.labels, le: '+Inf' },
        value: child.count,
        metricName: `${this.name}_bucket`,
      });
      values.push({ labels: child.labels, value: child.sum, metricName: `${this.name}_sum` });
      values.push({ labels: child.labels, value: child.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }
}
