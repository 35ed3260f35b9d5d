import { Registry, type Metric } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastHistogram } from './fast-instruments.js';

async function exposition(...metrics: object[]): Promise<string> {
  const registry = new Registry();
  for (const metric of metrics) registry.registerMetric(metric as Metric);
  return registry.metrics();
}

describe('FastHistogram and FastCounter', () => {
  it('expose cumulative buckets, +Inf, sum and count in the Prometheus text format', async () => {
    const histogram = new FastHistogram('t_seconds', 'help', ['route'], [0.1, 1]);
    const child = histogram.labels({ route: '/a' });
    for (const value of [0.05, 0.1, 0.5, 3]) child.observe(value);
    histogram.labels({ route: '/unused' }); // bound but never observed: not exported
    expect(await exposition(histogram)).toBe(
      [
        '# HELP t_seconds help',
        '# TYPE t_seconds histogram',
        't_seconds_bucket{route="/a",le="0.1"} 2',
        't_seconds_bucket{route="/a",le="1"} 3',
        't_seconds_bucket{route="/a",le="+Inf"} 4',
        't_seconds_sum{route="/a"} 3.65',
        't_seconds_count{route="/a"} 4',
      ].join('\n') + '\n',
    );
  });

  it('counts with and without labels, and returns the same child for the same labels', async () => {
    const counter = new FastCounter('t_total', 'help', ['kind']);
    counter.inc({ kind: 'a' });
    counter.inc({ kind: 'a' }, 2);
    expect(counter.labels({ kind: 'b' })).toBe(counter.labels({ kind: 'b' }));
    const plain = new FastCounter('u_total', 'help', []);
    plain.inc();
    plain.inc(4);
    const text = await exposition(counter, plain);
    expect(text).toContain('t_total{kind="a"} 3\n');
    expect(text).toContain('t_total{kind="b"} 0\n');
    expect(text).toContain('u_total 5\n');
    expect(() => counter.inc({ other: 'x' } as never)).toThrow(/unknown label "other"/);
  });
});
