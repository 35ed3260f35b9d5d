import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  exportedMetricNames,
  METRIC_DEFINITIONS,
} from '../src/modules/metrics/metrics.definitions.js';

// No Docker engine runs here: the dashboard, the rules and Prometheus' config are checked as data.

/** PromQL words that are not metric names. */
const PROMQL_WORDS = new Set([
  'sum', 'avg', 'min', 'max', 'count', 'rate', 'irate', 'increase', 'delta', 'deriv',
  'histogram_quantile', 'absent', 'by', 'without', 'and', 'or', 'unless', 'on', 'ignoring',
  'group_left', 'group_right', 'min_over_time', 'max_over_time', 'avg_over_time', 'clamp_min',
  'topk', 'bottomk', 'offset', 'bool', 'vector', 'time',
]); // prettier-ignore

/** The metric names a PromQL expression reads. */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ''); // label lists
  const names = stripped.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return names.filter((name) => !PROMQL_WORDS.has(name));
}

const dashboard = JSON.parse(readFileSync('docker/grafana/dashboards/gm-backend.json', 'utf8')) as {
  uid: string;
  panels: Array<{ type: string; title: string; targets?: { expr: string }[] }>;
};
const rules = parse(readFileSync('docker/prometheus/alerts.yml', 'utf8')) as {
  groups: Array<{
    rules: Array<{
      alert: string;
      expr: string;
      for?: string;
      annotations: Record<string, string>;
    }>;
  }>;
};
const alerts = rules.groups.flatMap((group) => group.rules);
const dashboardExprs = dashboard.panels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ where: panel.title, expr: target.expr })),
);

describe('metricNamesIn', () => {
  it('finds the metric names of a query, not its functions, labels or ranges', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (le, route) (rate(gm_a_bucket{route!~".*x"}[5m]))) / max(up)',
      ),
    ).toEqual(['gm_a_bucket', 'up']);
  });
});

describe('Grafana dashboard and Prometheus rules query only metrics the app exports', () => {
  const exported = exportedMetricNames();

  it('every dashboard query names exported metrics', () => {
    expect(dashboardExprs.length).toBeGreaterThan(20);
    for (const { where, expr } of dashboardExprs) {
      const names = metricNamesIn(expr);
      expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(exported.has(name), `${where}: ${name}`).toBe(true);
    }
  });

  it('every alert names exported metrics, waits before firing and says what to do', () => {
    for (const rule of alerts) {
      for (const name of metricNamesIn(rule.expr))
        expect(exported.has(name), `${rule.alert}: ${name}`).toBe(true);
      expect(rule.for, rule.alert).toMatch(/^\d+m$/);
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
      expect(rule.annotations.action, rule.alert).toBeTruthy();
    }
  });

  it('the dashboard shows every metric in the definitions table (no flow left out)', () => {
    const queried = new Set(dashboardExprs.flatMap(({ expr }) => metricNamesIn(expr)));
    const base = (name: string) => name.replace(/_(bucket|sum|count)$/, '');
    const shown = new Set([...queried].map(base));
    for (const def of Object.values(METRIC_DEFINITIONS))
      expect(shown.has(def.name), def.name).toBe(true);
  });

  it('has the alerts that matter: backlog growing 10 min, failed jobs, webhook 5xx, provider errors, SSE lag, a process down', () => {
    const byName = new Map(alerts.map((rule) => [rule.alert, rule]));
    expect([...byName.keys()]).toEqual(
      expect.arrayContaining([
        'GmQueueBacklogGrowing',
        'GmFailedJobRate',
        'GmWebhook5xx',
        'GmProviderErrors',
        'GmSseDeliveryLag',
        'GmProcessDown',
      ]),
    );
    expect(byName.get('GmQueueBacklogGrowing')!.for).toBe('10m');
    expect(byName.get('GmQueueBacklogGrowing')!.expr).toMatch(/gm_queue_jobs\{state="waiting"\}/);
    expect(byName.get('GmWebhook5xx')!.expr).toMatch(/route="\/api\/crawler\/log"/);
    expect(byName.get('GmProcessDown')!.expr).toMatch(/^up\{/);
  });
});

describe('Prometheus and Grafana provisioning', () => {
  const prometheus = parse(readFileSync('docker/prometheus/prometheus.yml', 'utf8'));
  const compose = parse(readFileSync('docker/docker-compose.yml', 'utf8'), { merge: true });

  it('scrapes every api and worker replica on METRICS_PORT with the bearer token', () => {
    const port = Number(compose.services.api.environment.METRICS_PORT);
    const jobs = Object.fromEntries(
      prometheus.scrape_configs.map((job: any) => [job.job_name, job]),
    );
    for (const [job, service] of [
      ['gm-api', 'api'],
      ['gm-worker', 'worker'],
    ]) {
      expect(jobs[job].metrics_path).toBe('/metrics');
      expect(jobs[job].dns_sd_configs[0]).toMatchObject({ names: [service], type: 'A', port });
      expect(jobs[job].authorization.credentials_file).toBe('/run/secrets/metrics-token');
      expect(compose.services[service].environment.METRICS_TOKEN).toBeTruthy();
      // Not published: reachable on the compose network only.
      expect(JSON.stringify(compose.services[service].ports ?? [])).not.toContain(String(port));
    }
    expect(compose.services.prometheus.secrets).toEqual(['metrics-token']);
    expect(compose.secrets['metrics-token']).toEqual({ environment: 'METRICS_TOKEN' });
    expect(prometheus.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
    expect(compose.services.prometheus.volumes).toContain('./prometheus:/etc/prometheus:ro');
  });

  it('provisions the Prometheus datasource and the dashboard into Grafana', () => {
    const datasource = parse(
      readFileSync('docker/grafana/provisioning/datasources/prometheus.yml', 'utf8'),
    );
    expect(datasource.datasources[0]).toMatchObject({
      type: 'prometheus',
      uid: 'prometheus',
      url: 'http://prometheus:9090',
    });
    const provider = parse(
      readFileSync('docker/grafana/provisioning/dashboards/dashboards.yml', 'utf8'),
    );
    expect(provider.providers[0].options.path).toBe('/var/lib/grafana/dashboards');
    expect(compose.services.grafana.volumes).toContain(
      './grafana/dashboards:/var/lib/grafana/dashboards:ro',
    );
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row'))
      expect((panel as { datasource?: { uid: string } }).datasource?.uid).toBe('prometheus');
  });
});
