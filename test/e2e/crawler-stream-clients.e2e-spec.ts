import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { RedisFanout } from '@app/common';
import { unlinkKeys } from '../utils/cleanup.js';
import { TcpProxy } from '../utils/tcp-proxy.js';
import { createUser, type TestApp, type TestUser } from '../utils/test-app.js';
import {
  createCrawlerApp,
  FakeRunpod,
  openStream,
  postLines,
  SseClient,
  storedLines,
  waitFor,
} from '../utils/crawler.js';

/** A job inserted straight as `running` (no dispatch): the test alone posts its lines. */
async function runningJob(t: TestApp, userId: string, keywords = ['kw']): Promise<string> {
  const rows = await t.app.get(DataSource).query<Array<{ id: string }>>(
    `INSERT INTO crawler_jobs (user_id, status, keywords, domain_count, priority, timeout_seconds, started_at, last_activity_at)
     VALUES ($1, 'running', $2::text[], 3, 10, 600, now(), now()) RETURNING id`,
    [userId, keywords],
  );
  return rows[0].id;
}

describe('Crawler streams as browsers use them', () => {
  const fake = new FakeRunpod();
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    await fake.start();
    // A settle time with room for a loaded machine: the closing line must reach the live viewers.
    t = await createCrawlerApp(fake, { CRAWLER_END_SETTLE_MS: '4000' });
    user = await createUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await fake.close();
  });

  /** A completed job with `lines` logged, finished long enough ago that its settle time is over. */
  async function endedJob(lines: string[]): Promise<string> {
    const jobId = await runningJob(t, user.id);
    expect(await postLines(t, jobId, [...lines, '[SUMMARY] {"status":"success"}'])).toBe(200);
    await t.app
      .get(DataSource)
      .query(`UPDATE crawler_jobs SET finished_at = now() - interval '1 minute' WHERE id = $1`, [
        jobId,
      ]);
    return jobId;
  }

  it('answers 204 to a reconnect to an ended job with nothing after its Last-Event-ID, and replays what is after it otherwise', async () => {
    const jobId = await endedJob(['a', 'b']); // 3 lines with the summary
    const first = await openStream(t, jobId, user.token);
    await first.closed;
    expect(first.status).toBe(200);
    expect(first.lines).toHaveLength(3);
    const end = first.events.at(-1)!;
    expect(end).toMatchObject({ event: 'end', id: '3' });

    // What a browser EventSource sends when it reconnects after `end`: 204 makes it stop.
    const reconnects: Array<[Record<string, string>, string]> = [
      [{ 'last-event-id': end.id! }, ''],
      [{}, `?last_event_id=${end.id}`],
    ];
    for (const [headers, query] of reconnects) {
      const again = await openStream(t, jobId, user.token, headers, query);
      await again.closed;
      expect(again.status).toBe(204);
      expect(again.events).toEqual([]);
    }
    // With something after its position, a reconnect still gets it, then end.
    const behind = await openStream(t, jobId, user.token, { 'last-event-id': '2' });
    await behind.closed;
    expect(behind.status).toBe(200);
    expect(behind.messages.map((e) => e.id)).toEqual(['3']);
    expect(behind.events.at(-1)).toMatchObject({ event: 'end', id: '3' });
    // A first visit (no Last-Event-ID) to an ended job with no line still gets its `end`.
    const empty = await endedJob([]);
    await t.app
      .get(DataSource)
      .query('DELETE FROM crawler_job_logs WHERE job_id = $1', [empty])
      .then(() =>
        t.app.get(DataSource).query('UPDATE crawler_jobs SET log_count = 0 WHERE id = $1', [empty]),
      );
    const visit = await openStream(t, empty, user.token);
    await visit.closed;
    expect(visit.status).toBe(200);
    expect(visit.events).toEqual([{ event: 'end', id: '0', data: '{"status":"completed"}' }]);
  });

  it("holds `end` for the settle time, so a live viewer gets the worker's closing line sent just after its [SUMMARY]", async () => {
    const jobId = await runningJob(t, user.id);
    const stream = await openStream(t, jobId, user.token);
    expect(await postLines(t, jobId, ['[INFO] working'])).toBe(200);
    await stream.until((e) => e.data === '[INFO] working');
    expect(await postLines(t, jobId, ['[SUMMARY] {"status":"success"}'])).toBe(200);
    expect(await postLines(t, jobId, ['[SUCCESS] Domain generation completed!'])).toBe(200);
    await stream.closed;
    expect(stream.lines).toEqual([
      '[INFO] working',
      '[SUMMARY] {"status":"success"}',
      '[SUCCESS] Domain generation completed!',
    ]);
    expect(stream.events.at(-1)).toMatchObject({
      event: 'end',
      id: '3',
      data: '{"status":"completed"}',
    });
  });

  it('answers GET /api/crawler/log (the earlier system’s "endpoint alive" probe) with 405 and Allow: POST', async () => {
    const res = await t.http.get('/api/crawler/log');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(res.body).toMatchObject({ statusCode: 405, error: 'Method Not Allowed' });
  });
});

describe('Crawler stream when PostgreSQL fails mid-stream', () => {
  const fake = new FakeRunpod();
  const pgProxy = new TcpProxy('127.0.0.1', 5432);
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    await fake.start();
    await pgProxy.start();
    const url = new URL(inject('databaseUrl'));
    url.port = String(pgProxy.port);
    t = await createCrawlerApp(fake, { DATABASE_URL: url.toString() });
    user = await createUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await pgProxy.stop();
    await fake.close();
  });

  it("ends with an `error` event that keeps the client's position (no id, or the last line's), so a reconnect resumes after it", async () => {
    const jobId = await runningJob(t, user.id);
    expect(await postLines(t, jobId, ['one', 'two', 'three'])).toBe(200);
    const stream = await openStream(t, jobId, user.token);
    await waitFor(() => stream.lines.length === 3, { what: 'the history' });

    await pgProxy.stop();
    try {
      // A live batch past the stream's position makes it read the gap from PostgreSQL, which is down.
      const channel = `${t.config.redis.keyPrefix}:crawler:log:${jobId}`;
      await t.app.get(RedisFanout).publish(channel, { t: 'l', s: 10, l: ['ten'] });
      const error = await stream.until((e) => e.event === 'error');
      await stream.closed;
      expect(error.id === undefined || error.id === '3', `error event id ${error.id}`).toBe(true);
      // Every event's id, in order, never goes back: what a browser keeps as Last-Event-ID.
      const ids = stream.events.filter((e) => e.id !== undefined).map((e) => Number(e.id));
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect(ids.at(-1)).toBe(3);
    } finally {
      await pgProxy.start(pgProxy.port);
    }
    // The browser reconnects with the id it kept and gets only what it had not.
    await waitFor(async () => (await postLines(t, jobId, ['four'])) === 200, {
      what: 'PostgreSQL back',
    });
    const resumed = await openStream(t, jobId, user.token, { 'last-event-id': '3' });
    await waitFor(() => resumed.lines.length >= 1, { what: 'the line after 3' });
    expect(resumed.lines).toEqual(['four']);
    resumed.close();
    expect((await storedLines(t, jobId)).map((r) => r.message)).toEqual([
      'one',
      'two',
      'three',
      'four',
    ]);
  });
});

describe('Crawler streams opened in a burst on a fresh process (Redis db index 5)', () => {
  const fake = new FakeRunpod();
  const redisUrl = 'redis://127.0.0.1:6379/5';
  let prefix = '';
  let t: TestApp;
  let user: TestUser;
  const streams: SseClient[] = [];

  beforeAll(async () => {
    await fake.start();
    t = await createCrawlerApp(fake, { REDIS_URL: redisUrl });
    prefix = t.config.redis.keyPrefix;
    user = await createUser(t);
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    await t?.close();
    await fake.close();
    await unlinkKeys(redisUrl, `${prefix}*`);
  });

  it('gives each of 30 streams opened at once its live lines (not only at the 15 s re-read)', async () => {
    const jobIds = await Promise.all(Array.from({ length: 30 }, () => runningJob(t, user.id)));
    // The process has had no stream yet: its subscriber connection is opened by this burst.
    // Requests of a mass reconnect arrive over a few milliseconds, some while that connection is
    // still being set up (SELECT of the db index in flight).
    const opening: Array<Promise<SseClient>> = [];
    for (const jobId of jobIds) {
      opening.push(openStream(t, jobId, user.token));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    streams.push(...(await Promise.all(opening)));
    expect(streams.every((s) => s.status === 200)).toBe(true);
    // Each stream subscribes, then reads PostgreSQL; a line logged once both are done must arrive live.
    await waitFor(() => t.app.get(RedisFanout).listenerCount === 30, {
      timeoutMs: 5_000,
      what: '30 live subscriptions (a failed SUBSCRIBE is dropped)',
    });
    const marker = randomUUID();
    await Promise.all(jobIds.map((jobId) => postLines(t, jobId, [`live ${marker}`])));
    // Well under the 15 s keepalive re-read, which is all a stream whose SUBSCRIBE failed gets.
    await Promise.all(streams.map((s) => s.until((e) => e.data === `live ${marker}`, 5_000)));
    for (const s of streams) expect(s.lines).toEqual([`live ${marker}`]);
  });
});
