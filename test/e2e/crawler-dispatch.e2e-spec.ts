import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, uniquePrefix, type TestApp, type TestUser } from '../utils/test-app.js';
import {
  createCrawlerApp,
  FakeRunpod,
  openStream,
  postLines,
  startJob,
  waitFor,
  waitForStatus,
} from '../utils/crawler.js';

const queueOf = (t: TestApp) => t.app.get<Queue>(getQueueToken('crawler'), { strict: false });

describe('Crawler dispatch to RunPod (pod mode)', () => {
  const fake = new FakeRunpod();
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    await fake.start();
    t = await createCrawlerApp(fake);
    user = await createUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await fake.close();
  });

  const requestsFor = (jobId: string) => fake.jobRequests.filter((r) => r.body?.job_id === jobId);

  it('retries RunPod answering 5xx twice, then dispatches on the third attempt', async () => {
    fake.failNext = 2;
    fake.failStatus = 503;
    const jobId = await startJob(t, user, ['retry me'], 2);
    await waitFor(async () => (await queueOf(t).getJob(jobId))?.finishedOn, {
      what: 'the Bull job to finish',
    });
    const bullJob = (await queueOf(t).getJob(jobId))!;
    expect(await bullJob.getState()).toBe('completed');
    expect(bullJob.attemptsMade).toBe(2);
    expect(requestsFor(jobId)).toHaveLength(3);
    const status = await waitForStatus(t, jobId, user.token, 'running');
    expect(status.error).toBeNull();
    expect(status.started_at).toMatch(/Z$/);
  });

  it('fails the job with the reason once retries are exhausted', async () => {
    fake.failAlways = 502;
    try {
      const jobId = await startJob(t, user, ['always down']);
      const stream = await openStream(t, jobId, user.token);
      const status = await waitForStatus(t, jobId, user.token, 'failed', 15_000);
      expect(status.error).toMatch(/RunPod dispatch failed after 3 attempt\(s\).*502/);
      expect(requestsFor(jobId)).toHaveLength(3);
      await stream.closed;
      expect(stream.events.at(-1)).toMatchObject({ event: 'end', data: '{"status":"failed"}' });
    } finally {
      fake.failAlways = null;
    }
  });

  it('fails the job with the reason when its dispatch cannot even start (the database refusing every attempt)', async () => {
    // A trigger refusing to mark this one job running: the error comes from PostgreSQL
    // itself, before RunPod is asked, on every attempt.
    const marker = `db-fault-${randomUUID()}`;
    const fault = `test_fault_${marker.slice(9).replace(/-/g, '_')}`;
    const db = t.app.get(DataSource);
    await db.query(
      `CREATE FUNCTION ${fault}() RETURNS trigger LANGUAGE plpgsql
         AS $$ BEGIN RAISE EXCEPTION 'injected fault: job cannot start'; END $$`,
    );
    await db.query(
      `CREATE TRIGGER ${fault} BEFORE UPDATE ON crawler_jobs FOR EACH ROW
         WHEN (NEW.status = 'running' AND '${marker}' = ANY (OLD.keywords)) EXECUTE FUNCTION ${fault}()`,
    );
    try {
      const jobId = await startJob(t, user, [marker]);
      const stream = await openStream(t, jobId, user.token);
      const status = await waitForStatus(t, jobId, user.token, 'failed', 15_000);
      expect(status.error).toMatch(/after 3 attempt\(s\).*injected fault: job cannot start/);
      expect(requestsFor(jobId)).toHaveLength(0);
      await stream.closed;
      expect(stream.events.at(-1)).toMatchObject({ event: 'end', data: '{"status":"failed"}' });
    } finally {
      await db.query(`DROP TRIGGER IF EXISTS ${fault} ON crawler_jobs`);
      await db.query(`DROP FUNCTION IF EXISTS ${fault}()`);
    }
  });

  it('does not retry a 4xx answer', async () => {
    fake.failAlways = 400;
    try {
      const jobId = await startJob(t, user, ['bad request']);
      const status = await waitForStatus(t, jobId, user.token, 'failed');
      expect(status.error).toMatch(/not retried.*400/);
      await waitFor(async () => (await queueOf(t).getJob(jobId))?.finishedOn, {
        what: 'the Bull job to finish',
      });
      expect(requestsFor(jobId)).toHaveLength(1);
    } finally {
      fake.failAlways = null;
    }
  });

  it('sends one request per keyword and answers 409 to cancelling a finished job', async () => {
    const jobId = await startJob(t, user, ['one', 'two'], 4);
    await waitFor(() => requestsFor(jobId).length === 2, { what: 'two dispatches' });
    expect(
      requestsFor(jobId)
        .map((r) => r.body)
        .sort((a, b) => a.data.localeCompare(b.data)),
    ).toEqual([
      { data: 'one', num_domains: 4, job_id: jobId },
      { data: 'two', num_domains: 4, job_id: jobId },
    ]);
    // One summary is not enough for two keywords.
    expect(await postLines(t, jobId, ['[SUMMARY] {"keyword":"one","status":"success"}'])).toBe(200);
    expect((await waitForStatus(t, jobId, user.token, 'running')).summary).toEqual({
      keyword: 'one',
      status: 'success',
    });
    expect(await postLines(t, jobId, ['[SUMMARY] {"keyword":"two","status":"success"}'])).toBe(200);
    const done = await waitForStatus(t, jobId, user.token, 'completed');
    expect(done.summaries).toHaveLength(2);
    expect(done.progress).toBe(100);
    // The pods' final answers are kept as the generated domains.
    expect(done.domains).toEqual(expect.arrayContaining(['one-1.com', 'two-4.com']));
    const res = await t.http.post(`/api/crawler/cancel/${jobId}`, undefined, user.token);
    expect(res.status).toBe(409);
    expect(res.body.message).toMatch(/already completed/);
  });

  it('answers the 11th start of the hour with 429 and Retry-After', async () => {
    const quotaUser = await createUser(t);
    for (let i = 0; i < 10; i++) {
      const res = await t.http.post(
        '/api/crawler/start',
        { domain_count: 1, keywords: [`q${i}`] },
        quotaUser.token,
      );
      expect(res.status).toBe(201);
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(9 - i));
    }
    const over = await t.http.post(
      '/api/crawler/start',
      { domain_count: 1, keywords: ['q10'] },
      quotaUser.token,
    );
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(over.body.message).toMatch(/crawler quota/);
  });
});

describe('Crawler queue (API-only process, then a worker)', () => {
  const fake = new FakeRunpod();
  const prefix = uniquePrefix();
  let api: TestApp;
  let user: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    await fake.start();
    api = await createCrawlerApp(fake, { APP_ROLE: 'api', REDIS_KEY_PREFIX: prefix });
    [user, admin] = await Promise.all([createUser(api), createUser(api, 'admin')]);
  });
  afterAll(async () => {
    await api?.close();
    await fake.close();
  });

  it('cancels a queued job: off the queue, stream ended, never dispatched', async () => {
    const jobId = await startJob(api, user);
    expect(await (await queueOf(api).getJob(jobId))?.getState()).toBe('waiting');
    const stream = await openStream(api, jobId, user.token);
    const res = await api.http.post(`/api/crawler/cancel/${jobId}`, undefined, user.token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ job_id: jobId, status: 'cancelled' });
    expect(await queueOf(api).getJob(jobId)).toBeNull();
    await stream.closed;
    expect(stream.events).toEqual([{ id: '0', event: 'end', data: '{"status":"cancelled"}' }]);
    const status = await api.http.get(`/api/crawler/status/${jobId}`, user.token);
    expect(status.body).toMatchObject({ status: 'cancelled', started_at: null });
    expect(status.body.finished_at).toMatch(/Z$/);
  });

  it('dispatches an admin job before user jobs queued earlier', async () => {
    const first = await startJob(api, user, ['user first']);
    const second = await startJob(api, user, ['user second']);
    const urgent = await startJob(api, admin, ['admin later']);
    const worker = await createCrawlerApp(fake, {
      REDIS_KEY_PREFIX: prefix,
      CRAWLER_CONCURRENCY: '1',
    });
    try {
      const ids = [first, second, urgent];
      await waitFor(
        () => fake.jobRequests.filter((r) => ids.includes(r.body.job_id)).length === 3,
        { what: 'three dispatches' },
      );
      expect(fake.jobRequests.map((r) => r.body.job_id).filter((id) => ids.includes(id))).toEqual([
        urgent,
        first,
        second,
      ]);
    } finally {
      await worker.close();
    }
  });
});
