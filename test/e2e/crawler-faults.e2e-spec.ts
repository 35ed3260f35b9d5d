import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { DataSource } from 'typeorm';
import { QUEUE_NAMES } from '@app/common';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { ResumingStream } from '../utils/resuming-stream.js';
import { TcpProxy } from '../utils/tcp-proxy.js';
import { createUser, uniquePrefix, type TestApp, type TestUser } from '../utils/test-app.js';
import { createCrawlerApp, FakeRunpod, postLines, waitFor } from '../utils/crawler.js';

const JOBS = 6;

/**
 * The fault campaign kept in the suite: two API processes (one also the worker) reach PostgreSQL
 * and Redis only through TCP proxies, which the test cuts — PostgreSQL, then Redis — while
 * webhook posters, resuming stream readers and job starts run against both processes. Then it
 * counts: every line answered 2xx is stored once, every reader got every stored line once and in
 * order, every job answered 201 exists and was dispatched, and nothing answered other than
 * 2xx or 503.
 */
describe('Crawler under PostgreSQL and Redis outages', () => {
  const fake = new FakeRunpod();
  const pgProxy = new TcpProxy('127.0.0.1', 5432);
  const redisProxy = new TcpProxy('127.0.0.1', 6379);
  let a: TestApp;
  let b: TestApp;
  let user: TestUser;
  let admin: TestUser;
  let db: DataSource;

  beforeAll(async () => {
    await fake.start();
    await pgProxy.start();
    await redisProxy.start();
    const databaseUrl = new URL(inject('databaseUrl'));
    databaseUrl.port = String(pgProxy.port);
    const env = {
      DATABASE_URL: databaseUrl.toString(),
      REDIS_URL: `redis://127.0.0.1:${redisProxy.port}/0`,
      REDIS_KEY_PREFIX: uniquePrefix(),
      CRAWLER_END_SETTLE_MS: '100',
      // A start whose move to `active` lost its reply in a Redis cut is picked up again by the
      // stalled check: within a second here (up to twice the interval, plus the lock if it was set).
      CRAWLER_LOCK_DURATION_MS: '2000',
      CRAWLER_STALLED_INTERVAL_MS: '500',
    };
    a = await createCrawlerApp(fake, env);
    b = await createCrawlerApp(fake, { ...env, APP_ROLE: 'api' });
    [user, admin] = await Promise.all([createUser(a), createUser(a, 'admin')]);
    db = a.app.get(DataSource);
  });
  afterAll(async () => {
    // Proxies up first: shutdown talks to both services.
    for (const proxy of [pgProxy, redisProxy]) if (!proxy.running) await proxy.start(proxy.port);
    await b?.close();
    await a?.close();
    await pgProxy.stop();
    await redisProxy.stop();
    await fake.close();
  });

  /** Runs `action` until `stop` says so; a failed attempt waits a little before the next, as clients back off. */
  async function loop(stop: () => boolean, action: () => Promise<boolean>): Promise<void> {
    while (!stop()) {
      const ok = await action().catch(() => false);
      await new Promise((resolve) => setTimeout(resolve, ok ? 2 : 20));
    }
  }

  it('loses no 2xx line or job and duplicates no line in any stream across the cuts', async () => {
    const rows = await db.query<Array<{ id: string }>>(
      `INSERT INTO crawler_jobs (user_id, status, keywords, domain_count, priority, timeout_seconds, started_at, last_activity_at)
       SELECT $1, 'running', ARRAY['fault'], 3, 10, 600, now(), now() FROM generate_series(1, $2) RETURNING id`,
      [user.id, JOBS],
    );
    const jobIds = rows.map((row) => row.id);
    const readers = jobIds.map(
      (jobId) =>
        new ResumingStream(
          [a, b].map((app) => `${app.baseUrl}/api/crawler/logs/${jobId}`),
          { authorization: `Bearer ${user.token}` },
        ),
    );
    const answers: Array<{ jobId: string; line: string; status: number }> = [];
    const starts: Array<{ status: number; jobId?: string }> = [];
    let stopping = false;
    const load = [
      ...jobIds.map((jobId, j) => {
        let n = 0;
        return loop(
          () => stopping,
          async () => {
            const line = `[INFO] job ${j} line ${n}`;
            const status = await postLines(n++ % 2 ? b : a, jobId, [line]).catch(() => 0);
            answers.push({ jobId, line, status });
            return status === 200;
          },
        );
      }),
      loop(
        () => stopping,
        async () => {
          const app = starts.length % 2 ? b : a;
          const res = await app.http
            .post('/api/crawler/start', { domain_count: 1, keywords: ['fault start'] }, admin.token)
            .catch(() => ({ status: 0, body: {} }));
          starts.push({ status: res.status, jobId: res.body?.job_id });
          return res.status === 201;
        },
      ),
    ];
    const okLines = () => answers.filter((x) => x.status === 200).length;
    const progress = async (more: number) => {
      const target = okLines() + more;
      await waitFor(() => okLines() >= target, { timeoutMs: 20_000, what: `${more} more lines` });
    };

    await progress(60);
    await pgProxy.stop(); // PostgreSQL unreachable: lines and starts answer 503, streams end or fail to open
    await waitFor(() => answers.filter((x) => x.status === 503).length >= 20, {
      what: 'refusals during the PostgreSQL cut',
    });
    await pgProxy.start(pgProxy.port);
    await progress(60);
    await redisProxy.stop(); // Redis unreachable: lines still stored, live fan-out and starts stop
    await progress(60);
    await waitFor(() => starts.some((s) => s.status === 503), {
      what: 'a start refused during the Redis cut',
    });
    await redisProxy.start(redisProxy.port);
    await progress(60);
    // Both cut, Redis back first: every open stream re-reads on the Redis reconnect while
    // PostgreSQL is still down, so each ends with an error (that must keep its position) and its
    // reader reconnects.
    const connections = readers.map((reader) => reader.statuses.length);
    await pgProxy.stop();
    await redisProxy.stop();
    await redisProxy.start(redisProxy.port);
    await waitFor(() => readers.every((reader, j) => reader.statuses.length > connections[j]), {
      what: 'every reader to be cut off and reconnect',
    });
    await pgProxy.start(pgProxy.port);
    await progress(60);
    stopping = true;
    await Promise.all(load);

    // Every job ends; every reader then has its whole log.
    for (const jobId of jobIds)
      expect(await postLines(a, jobId, ['[SUMMARY] {"status":"success"}'])).toBe(200);
    await Promise.all(
      readers.map((reader, j) =>
        waitFor(() => reader.ended, { timeoutMs: 30_000, what: `reader ${j} to end` }),
      ),
    );

    // Only 2xx or 503 (dependency down) was ever answered: no 500.
    expect([...new Set(answers.map((x) => x.status))].sort()).toEqual([200, 503]);
    expect(starts.every((s) => s.status === 201 || s.status === 503)).toBe(true);

    for (const [j, jobId] of jobIds.entries()) {
      const stored = await db.query<Array<{ seq: number; message: string }>>(
        'SELECT seq, message FROM crawler_job_logs WHERE job_id = $1 ORDER BY seq',
        [jobId],
      );
      const messages = stored.map((row) => row.message);
      // Durable: every line answered 200 is stored, once; ids are 1…n without a gap.
      expect(new Set(messages).size).toBe(messages.length);
      expect(stored.map((row) => row.seq)).toEqual(stored.map((_, i) => i + 1));
      const acknowledged = answers.filter((x) => x.jobId === jobId && x.status === 200);
      const missing = acknowledged.filter((x) => !messages.includes(x.line));
      expect(missing, `job ${j}: lines answered 200 but not stored`).toEqual([]);
      // Streams: the reader got every stored line exactly once, in order, across its reconnects.
      const reader = readers[j];
      expect(reader.messages.map((e) => e.data)).toEqual(messages);
      expect(reader.messages.map((e) => Number(e.id))).toEqual(stored.map((row) => row.seq));
    }

    // Jobs: every 201 exists and leaves `queued` (dispatched, or failed with its reason).
    const started = starts.filter((s) => s.status === 201).map((s) => s.jobId!);
    expect(started.length).toBeGreaterThan(0);
    await waitFor(
      async () => {
        const jobs = await db.query<Array<{ status: string }>>(
          'SELECT status FROM crawler_jobs WHERE id = ANY($1)',
          [started],
        );
        return jobs.length === started.length && jobs.every((job) => job.status !== 'queued');
      },
      { timeoutMs: 30_000, what: 'every started job to be dispatched' },
    ).catch(async (error: Error) => {
      const stuck = await db.query<Array<{ id: string }>>(
        `SELECT id FROM crawler_jobs WHERE id = ANY($1) AND status = 'queued'`,
        [started],
      );
      const queue = a.app.get<Queue>(getQueueToken(QUEUE_NAMES.crawler));
      const states = await Promise.all(
        stuck.map(async (row) => {
          const job = await queue.getJob(row.id);
          return `${row.id}: ${job ? await job.getState() : 'no Bull job'} ${job?.failedReason ?? ''}`;
        }),
      );
      throw new Error(`${error.message}; still queued: ${states.join('; ')}`);
    });
    for (const reader of readers) await reader.stop();
  }, 120_000);
});

describe('Crawler dispatch whose last attempt fails while PostgreSQL is down', () => {
  const fake = new FakeRunpod();
  const pgProxy = new TcpProxy('127.0.0.1', 5432);
  let t: TestApp;

  beforeAll(async () => {
    await fake.start();
    await pgProxy.start();
    const databaseUrl = new URL(inject('databaseUrl'));
    databaseUrl.port = String(pgProxy.port);
    t = await createCrawlerApp(fake, { DATABASE_URL: databaseUrl.toString() });
  });
  afterAll(async () => {
    if (!pgProxy.running) await pgProxy.start(pgProxy.port);
    await t?.close();
    await pgProxy.stop();
    await fake.close();
  });

  it('still fails the job with its reason once PostgreSQL is back (it never stays queued)', async () => {
    const admin = await createUser(t, 'admin');
    fake.failAlways = 503;
    try {
      const res = await t.http.post(
        '/api/crawler/start',
        { domain_count: 1, keywords: ['outage'] },
        admin.token,
      );
      expect(res.status).toBe(201);
      const jobId = res.body.job_id as string;
      await pgProxy.stop();
      // Every attempt fails (RunPod 503, or PostgreSQL unreachable), the last one while it is down.
      const queue = t.app.get<Queue>(getQueueToken(QUEUE_NAMES.crawler));
      await waitFor(async () => (await (await queue.getJob(jobId))?.getState()) === 'failed', {
        timeoutMs: 20_000,
        what: 'the Bull job to fail',
      });
      await pgProxy.start(pgProxy.port);
      const job = await waitFor(
        async () => {
          const rows = await t.app
            .get(DataSource)
            .query<Array<{ status: string; error: string | null }>>(
              'SELECT status, error FROM crawler_jobs WHERE id = $1',
              [jobId],
            );
          return rows[0]?.status === 'failed' ? rows[0] : null;
        },
        { timeoutMs: 20_000, what: 'the job to be failed' },
      );
      expect(job.error).toMatch(/after 3 attempt/);
    } finally {
      fake.failAlways = null;
    }
  });
});
