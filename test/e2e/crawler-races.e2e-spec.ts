import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRAWLER_EVENTS } from '../../src/modules/crawler/crawler.constants.js';
import { createUser, type TestApp, type TestUser } from '../utils/test-app.js';
import {
  createCrawlerApp,
  FakeRunpod,
  jobStatus,
  postLines,
  startJob,
  storedLines,
  waitForStatus,
  WEBHOOK_KEY,
} from '../utils/crawler.js';

/** Jobs inserted straight as `running` (no dispatch), so the test alone decides what arrives when. */
async function runningJobs(
  t: TestApp,
  userId: string,
  count: number,
  keywords: string[],
): Promise<string[]> {
  const rows = await t.app.get(DataSource).query<Array<{ id: string }>>(
    `INSERT INTO crawler_jobs (user_id, status, keywords, domain_count, priority, timeout_seconds, started_at, last_activity_at)
     SELECT $1, 'running', $2::text[], 3, 10, 600, now(), now() FROM generate_series(1, $3) RETURNING id`,
    [userId, keywords, count],
  );
  return rows.map((row) => row.id);
}

const summary = (keyword: string) =>
  `[SUMMARY] ${JSON.stringify({ status: 'success', keyword, domains: [`${keyword}-1.com`] })}`;

describe('Crawler write path under concurrency', () => {
  const fake = new FakeRunpod();
  let a: TestApp;
  let b: TestApp;
  let user: TestUser;
  /** crawler.job.completed events heard on either process, per job. */
  const completions = new Map<string, number>();

  beforeAll(async () => {
    await fake.start();
    a = await createCrawlerApp(fake);
    // A second API process of the same deployment (same database, same Redis prefix).
    b = await createCrawlerApp(fake, {
      REDIS_KEY_PREFIX: a.config.redis.keyPrefix,
      APP_ROLE: 'api',
    });
    user = await createUser(a);
    for (const app of [a, b]) {
      app.app.get(EventEmitter2).on(CRAWLER_EVENTS.completed, (event: { jobId: string }) => {
        completions.set(event.jobId, (completions.get(event.jobId) ?? 0) + 1);
      });
    }
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await fake.close();
  });

  async function expectCompletedOnce(jobIds: string[], summaries: number) {
    const rows = await a.app
      .get(DataSource)
      .query<Array<{ id: string; status: string; summary_count: number; progress: number }>>(
        'SELECT id, status, summary_count, progress FROM crawler_jobs WHERE id = ANY($1)',
        [jobIds],
      );
    const open = rows.filter((row) => row.status !== 'completed');
    expect(open, `${open.length} of ${jobIds.length} jobs left open`).toEqual([]);
    for (const row of rows) expect(row).toMatchObject({ summary_count: summaries, progress: 100 });
    for (const id of jobIds) expect(completions.get(id), `completions of ${id}`).toBe(1);
  }

  it('completes every 2-keyword job exactly once when its two summaries reach two API processes at the same moment (30 jobs)', async () => {
    const jobIds = await runningJobs(a, user.id, 30, ['alpha', 'beta']);
    for (let round = 0; round < jobIds.length; round += 10) {
      const statuses = await Promise.all(
        jobIds
          .slice(round, round + 10)
          .flatMap((jobId) => [
            postLines(a, jobId, [summary('alpha')]),
            postLines(b, jobId, [summary('beta')]),
          ]),
      );
      expect(statuses.every((s) => s === 200)).toBe(true);
    }
    // Completion is decided in the statement that stores the last summary: no waiting here.
    await expectCompletedOnce(jobIds, 2);
  });

  it('completes every 3-keyword job exactly once when three posters send their summaries to one process at once (30 jobs)', async () => {
    const keywords = ['one', 'two', 'three'];
    const jobIds = await runningJobs(a, user.id, 30, keywords);
    // Every job's three posters at once, all jobs together: requests spread over several
    // group-commit batches, two of which are in flight at a time.
    const statuses = await Promise.all(
      jobIds.flatMap((jobId) =>
        keywords.map((keyword) =>
          postLines(a, jobId, [`[INFO] ${keyword} done`, summary(keyword)]),
        ),
      ),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
    await expectCompletedOnce(jobIds, 3);
  });

  it('stores a line containing NUL (replaced by U+FFFD) without failing the valid lines committed with it', async () => {
    const [jobId] = await runningJobs(a, user.id, 1, ['nul']);
    const valid = Array.from({ length: 40 }, (_, i) => `[INFO] valid ${i}`);
    const bad = '[INFO] before\u0000after';
    const statuses = await Promise.all([
      ...valid.slice(0, 20).map((line) => postLines(a, jobId, [line])),
      postLines(a, jobId, [bad]),
      ...valid.slice(20).map((line) => postLines(a, jobId, [line])),
    ]);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const stored = (await storedLines(a, jobId)).map((row) => row.message);
    expect(stored).toHaveLength(41);
    expect(stored).toEqual(expect.arrayContaining(valid));
    expect(stored).toContain('[INFO] before\uFFFDafter');
  });

  it('stores a [SUMMARY] with a NUL or a lone surrogate (replaced by U+FFFD) and completes the job, failing none of the lines batched with it', async () => {
    const [jobId] = await runningJobs(a, user.id, 1, ['k1', 'k2']);
    const valid = Array.from({ length: 30 }, (_, i) => `[INFO] valid ${i}`);
    // Sent as raw JSON: "\ud800" is a lone surrogate once parsed, which JSON.stringify would also produce.
    const raw = (message: string) =>
      fetch(`${a.baseUrl}/api/crawler/log`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': WEBHOOK_KEY },
        body: `{"job_id":"${jobId}","message":${message}}`,
      }).then((res) => res.status);
    const statuses = await Promise.all([
      ...valid.slice(0, 15).map((line) => postLines(a, jobId, [line])),
      raw(String.raw`"[SUMMARY] {\"keyword\":\"k1\",\"note\":\"a\u0000b\"}"`),
      raw(String.raw`"[SUMMARY] {\"keyword\":\"k2\",\"note\":\"c\ud800d\"}"`),
      ...valid.slice(15).map((line) => postLines(a, jobId, [line])),
    ]);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const stored = (await storedLines(a, jobId)).map((row) => row.message);
    expect(stored).toHaveLength(32);
    expect(stored).toEqual(expect.arrayContaining(valid));
    const status = await jobStatus(a, jobId, user.token);
    expect(status.status).toBe('completed');
    expect(status.summaries).toEqual(
      expect.arrayContaining([
        { keyword: 'k1', note: 'a\uFFFDb' },
        { keyword: 'k2', note: 'c\uFFFDd' },
      ]),
    );
  });

  it('answers 422 to a line the database refuses as data, on its own, and stores the lines batched with it', async () => {
    const [jobId] = await runningJobs(a, user.id, 1, ['poison']);
    // A line PostgreSQL refuses with a data exception (SQLSTATE 22012 from this check), standing in
    // for any input the line cleaning does not foresee. Only this job's lines can trip it.
    const token = `poison-${jobId}`;
    const db = a.app.get(DataSource);
    const constraint = `crawler_test_${jobId.replaceAll('-', '')}`;
    await db.query(
      `ALTER TABLE crawler_job_logs ADD CONSTRAINT ${constraint} CHECK (CASE WHEN message LIKE '%${token}%' THEN length(message) / 0 = 1 ELSE true END) NOT VALID`,
    );
    try {
      const valid = Array.from({ length: 40 }, (_, i) => `[INFO] valid ${i}`);
      const results = await Promise.all([
        ...valid.slice(0, 20).map((line) => postLines(a, jobId, [line])),
        a.http.post('/api/crawler/log', { job_id: jobId, message: `[INFO] ${token}` }, undefined, {
          'x-api-key': WEBHOOK_KEY,
        }),
        ...valid.slice(20).map((line) => postLines(a, jobId, [line])),
      ]);
      const refused = results[20] as { status: number; body: { message: string } };
      expect(refused.status).toBe(422);
      expect(refused.body.message).toMatch(/cannot be stored/);
      expect(
        results.filter((r) => r === 200),
        JSON.stringify(results),
      ).toHaveLength(40);
      const stored = await storedLines(a, jobId);
      expect(stored.map((row) => row.message).sort()).toEqual([...valid].sort());
      expect(stored.map((row) => row.seq)).toEqual(valid.map((_, i) => i + 1));
    } finally {
      await db.query(`ALTER TABLE crawler_job_logs DROP CONSTRAINT ${constraint}`);
    }
  });

  it("lists each domain once on a completed job, though the pod's final answer and its [SUMMARY] both report them", async () => {
    fake.options.playRun = true;
    fake.options.lineDelayMs = 5;
    try {
      const jobId = await startJob(a, user, ['tea house'], 3);
      const done = await waitForStatus(a, jobId, user.token, 'completed');
      expect(done.domains).toEqual(['tea-house-1.com', 'tea-house-2.com', 'tea-house-3.com']);
    } finally {
      fake.options.playRun = false;
    }
  });
});
