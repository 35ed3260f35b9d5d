import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FakeRunpod } from '../fakes/fake-runpod.js';
import { FakeScraperApi } from '../fakes/fake-scraper-api.js';
import {
  createCrawlerApp,
  openStream,
  postLines,
  startJob,
  waitForStatus,
} from '../utils/crawler.js';
import {
  DEFAULT_METRIC_NAMES,
  METRIC_DEFINITIONS,
} from '../../src/modules/metrics/metrics.definitions.js';
import { metricsUrl, parseMetrics, scrape, Scrape } from '../utils/metrics.js';
import { createTestApp, createUser, waitFor, type TestApp } from '../utils/test-app.js';
import { ensureBuilt, startWorkerProcess, type WorkerProcess } from '../utils/worker-process.js';

const METRICS_TOKEN = 'metrics-test-token-0123456789';
const SCRAPER_KEY = 'metrics-scraper-key';

/** How much a series grew between two scrapes. */
const delta = (before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}) =>
  after.value(name, labels) - before.value(name, labels);

describe('Metrics (/metrics on METRICS_PORT) after real traffic', () => {
  let runpod: FakeRunpod;
  let scraperApi: FakeScraperApi;
  let t: TestApp;

  beforeAll(async () => {
    runpod = new FakeRunpod();
    await runpod.start();
    scraperApi = await new FakeScraperApi({ apiKey: SCRAPER_KEY }).start();
    t = await createCrawlerApp(runpod, {
      METRICS_TOKEN,
      PYTHON_SCRAPER_API_URL: scraperApi.url,
      PYTHON_SCRAPER_API_KEY: SCRAPER_KEY,
      CRAWLER_RATE_LIMIT_PER_HOUR: '1',
      LOGIN_THROTTLE_LIMIT: '2',
    });
  });
  afterAll(async () => {
    await t?.close();
    await runpod?.close();
    await scraperApi?.stop();
  });

  it('serves /metrics on its own port only, and only with the bearer token', async () => {
    const url = metricsUrl(t);
    expect(new URL(url).port).not.toBe(new URL(t.baseUrl).port);
    expect((await fetch(url)).status).toBe(401);
    const wrong = await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
    expect(wrong.status).toBe(401);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await ok.text();
    const metrics = new Scrape(parseMetrics(text));
    // Every name the definitions table (and so the dashboard and alerts) relies on is really exported.
    const typed = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    for (const def of Object.values(METRIC_DEFINITIONS))
      expect(typed.has(def.name), def.name).toBe(true);
    for (const name of DEFAULT_METRIC_NAMES)
      expect(typed.has(name.replace(/_total$/, '')) || typed.has(name), name).toBe(true);
    // prom-client's process defaults: event-loop lag, heap, GC.
    for (const name of [
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
      'process_cpu_seconds_total',
    ])
      expect(metrics.has(name), name).toBe(true);
    expect(metrics.series('process_cpu_seconds_total')[0].labels.role).toBe('all');
    // Not on the public API port.
    expect((await t.http.get('/metrics')).status).toBe(404);
    expect((await t.http.get('/api/metrics')).status).toBe(404);
  });

  it('counts a crawler job: dispatch retry, RunPod error kind, lines ingested and delivered to two viewers, final status', async () => {
    const before = await scrape(t);
    const user = await createUser(t);
    runpod.failNext = 1; // first attempt: RunPod answers 503, retried
    const jobId = await startJob(t, user);
    await waitForStatus(t, jobId, user.token, 'running');
    await waitFor(() => runpod.jobRequests.filter((r) => r.body.job_id === jobId).length === 2, {
      what: 'the retried dispatch',
    });

    const viewers = await Promise.all([
      openStream(t, jobId, user.token),
      openStream(t, jobId, user.token),
    ]);
    await waitFor(async () => (await scrape(t)).value('gm_crawler_log_streams_open') === 2, {
      what: 'two open streams',
    });
    expect(await postLines(t, jobId, ['[INFO] one', '[INFO] two', '[INFO] three'])).toBe(200);
    expect(await postLines(t, jobId, ['[INFO] four', '[SUMMARY] {"status":"success"}'])).toBe(200);
    await Promise.all(viewers.map((v) => v.until((e) => e.event === 'end')));
    for (const v of viewers) expect(v.lines).toHaveLength(5);
    await waitFor(async () => (await scrape(t)).value('gm_crawler_log_streams_open') === 0, {
      what: 'streams closed',
    });
    await waitFor(
      async () =>
        delta(before, await scrape(t), 'gm_queue_job_duration_seconds_count', {
          queue: 'crawler',
          outcome: 'completed',
        }) === 1,
      { what: 'the Bull job completed' },
    );

    const after = await scrape(t);
    const d = (name: string, labels: Record<string, string> = {}) =>
      delta(before, after, name, labels);
    expect(d('gm_crawler_log_lines_ingested_total')).toBe(5);
    expect(d('gm_crawler_log_append_batch_lines_sum')).toBe(5);
    expect(d('gm_crawler_log_append_batch_lines_count')).toBeGreaterThanOrEqual(1);
    expect(d('gm_crawler_log_commit_seconds_count')).toBe(
      d('gm_crawler_log_append_batch_lines_count'),
    );
    expect(d('gm_crawler_log_lines_delivered_total')).toBe(10);
    expect(d('gm_crawler_log_delivery_lag_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(d('gm_crawler_jobs_finished_total', { status: 'completed' })).toBe(1);
    expect(d('gm_crawler_dispatch_attempts_total', { outcome: 'retry' })).toBe(1);
    expect(d('gm_crawler_dispatch_attempts_total', { outcome: 'dispatched' })).toBe(1);
    expect(d('gm_runpod_errors_total', { kind: 'server_error' })).toBe(1);
    expect(d('gm_queue_job_duration_seconds_count', { queue: 'crawler', outcome: 'retry' })).toBe(
      1,
    );
    expect(d('gm_queue_job_attempts_sum', { queue: 'crawler', outcome: 'completed' })).toBe(2);
    expect(
      d('gm_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/api/crawler/log',
        status_class: '2xx',
      }),
    ).toBe(2);
    expect(
      d('gm_http_request_duration_seconds_count', {
        method: 'GET',
        route: '/api/crawler/logs/:job_id',
        status_class: '2xx',
      }),
    ).toBe(2);
    // Route templates only: no job id in any label.
    expect(after.samples.some((s) => Object.values(s.labels).some((v) => v.includes(jobId)))).toBe(
      false,
    );
  });

  it('counts a scrape: provider call, cache miss then hit, places inserted and duplicates', async () => {
    const before = await scrape(t);
    const user = await createUser(t);
    const body = { keyword: `kopi ${randomUUID().slice(0, 8)}`, location: 'Jakarta' };
    const queued = await t.http.post('/api/scraper/jobs', body, user.token);
    expect(queued.status).toBe(202);
    await waitFor(
      async () =>
        (await t.http.get(`/api/scraper/jobs/${queued.body.job_id}`, user.token)).body.status ===
        'completed',
      { what: 'the scrape' },
    );
    const hit = await t.http.post('/api/scraper/jobs', body, user.token);
    expect(hit.status).toBe(200);
    expect(hit.body.cached).toBe(true);

    const after = await scrape(t);
    const d = (name: string, labels: Record<string, string> = {}) =>
      delta(before, after, name, labels);
    expect(d('gm_scraper_cache_requests_total', { result: 'miss' })).toBe(1);
    expect(d('gm_scraper_cache_requests_total', { result: 'hit' })).toBe(1);
    expect(
      d('gm_scraper_provider_request_seconds_count', { provider: 'python-api', outcome: 'ok' }),
    ).toBe(1);
    expect(d('gm_scraper_places_total', { result: 'inserted' })).toBe(20);
    expect(d('gm_scraper_places_total', { result: 'duplicate' })).toBe(hit.body.result.duplicates);
    expect(hit.body.result.duplicates).toBe(20);
    expect(
      d('gm_queue_job_duration_seconds_count', { queue: 'scraper', outcome: 'completed' }),
    ).toBe(1);
    expect(after.series('gm_queue_jobs', { queue: 'scraper', state: 'waiting' })).toHaveLength(1);
    expect(
      after.series('gm_queue_waiting_jobs_by_priority', { queue: 'crawler', priority: 'admin' }),
    ).toHaveLength(1);
  });

  it('counts a 429 by bucket and role, failed and throttled logins, and labels 404s "unmatched"', async () => {
    const before = await scrape(t);
    const user = await createUser(t);
    await startJob(t, user);
    const refused = await t.http.post(
      '/api/crawler/start',
      { domain_count: 1, keywords: ['x'] },
      user.token,
    );
    expect(refused.status).toBe(429);

    const login = { email: user.email, password: 'not-the-password' };
    expect((await t.http.post('/api/auth/login', login)).status).toBe(401);
    expect((await t.http.post('/api/auth/login', login)).status).toBe(401);
    expect((await t.http.post('/api/auth/login', login)).status).toBe(429);

    const stray = randomUUID();
    expect((await t.http.get(`/api/no-such-route/${stray}`)).status).toBe(404);

    const after = await scrape(t);
    const d = (name: string, labels: Record<string, string> = {}) =>
      delta(before, after, name, labels);
    expect(d('gm_quota_rejections_total', { bucket: 'crawler', role: 'user' })).toBe(1);
    expect(
      d('gm_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/api/crawler/start',
        status_class: '4xx',
      }),
    ).toBe(1);
    expect(d('gm_auth_login_failures_total')).toBe(2);
    expect(d('gm_auth_login_throttled_total')).toBe(1);
    expect(
      d('gm_http_request_duration_seconds_count', {
        method: 'GET',
        route: 'unmatched',
        status_class: '4xx',
      }),
    ).toBe(1);
    expect(after.samples.some((s) => Object.values(s.labels).some((v) => v.includes(stray)))).toBe(
      false,
    );
  });
});

describe('Metrics switches and roles', () => {
  it('METRICS_ENABLED=false serves nothing and the API still works', async () => {
    const t = await createTestApp({ env: { METRICS_ENABLED: 'false' } });
    try {
      expect(metricsUrl(t)).toMatch(/:0\/metrics$/);
      expect((await t.http.get('/api/health/live')).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('a worker process (APP_ROLE=worker, no HTTP app) exposes its metrics and the queue gauges', async () => {
    ensureBuilt();
    let worker: WorkerProcess | undefined;
    try {
      worker = await startWorkerProcess(
        {
          DATABASE_URL: inject('databaseUrl'),
          REDIS_KEY_PREFIX: `${inject('redisPrefix')}-metrics-worker`,
        },
        60_000,
      );
      const port = await waitFor(
        () => /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(worker!.output())?.[1],
        { what: 'the metrics server log line' },
      );
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      const metrics = new Scrape(parseMetrics(await res.text()));
      expect(metrics.series('process_cpu_seconds_total')[0].labels.role).toBe('worker');
      expect(metrics.series('gm_queue_jobs', { queue: 'crawler', state: 'active' })).toHaveLength(
        1,
      );
      expect(metrics.has('gm_http_request_duration_seconds_count')).toBe(false);
    } finally {
      await worker?.kill();
    }
  }, 90_000);
});
