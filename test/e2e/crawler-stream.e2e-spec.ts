import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisFanout } from '@app/common';
import { CrawlerLogStream } from '../../src/modules/crawler/log/crawler-log.stream.js';
import { createUser, type TestApp, type TestUser } from '../utils/test-app.js';
import {
  createCrawlerApp,
  FakeRunpod,
  jobStatus,
  openStream,
  postLines,
  SseClient,
  startJob,
  storedLines,
  waitFor,
  waitForStatus,
  WEBHOOK_KEY,
} from '../utils/crawler.js';

describe('Crawler log stream', () => {
  const fake = new FakeRunpod({ lineDelayMs: 20 });
  let t: TestApp;
  let user: TestUser;
  let other: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    await fake.start();
    // A settle time with room for a loaded machine: the closing line must reach the live viewers.
    t = await createCrawlerApp(fake, { CRAWLER_END_SETTLE_MS: '4000' });
    [user, other, admin] = await Promise.all([
      createUser(t),
      createUser(t),
      createUser(t, 'admin'),
    ]);
  });
  afterAll(async () => {
    await t?.close();
    await fake.close();
  });

  /** A running job whose lines the test posts itself. */
  async function runningJob(owner = user): Promise<string> {
    const jobId = await startJob(t, owner);
    await waitForStatus(t, jobId, owner.token, 'running');
    return jobId;
  }

  it('runs the full flow: three subscribers get every line in order, then end; the job completes with its summary', async () => {
    fake.options.playRun = true;
    fake.hang = true;
    try {
      const jobId = await startJob(t, user, ['coffee shop'], 3);
      const subscribers = await Promise.all([1, 2, 3].map(() => openStream(t, jobId, user.token)));
      await waitFor(() => fake.jobRequests.some((r) => r.body.job_id === jobId), {
        what: 'the dispatch',
      });
      const request = fake.jobRequests.find((r) => r.body.job_id === jobId)!;
      expect(request.body).toEqual({ data: 'coffee shop', num_domains: 3, job_id: jobId });
      fake.release();
      await Promise.all(subscribers.map((s) => s.closed));

      const expected = [
        '[INFO] Starting domain generation for: coffee shop',
        '[INFO] Progress: 33% - Generated domain 1/3: coffee-shop-1.com',
        '[INFO] Progress: 67% - Generated domain 2/3: coffee-shop-2.com',
        '[INFO] Progress: 100% - Generated domain 3/3: coffee-shop-3.com',
        expect.stringMatching(/^\[SUMMARY\] \{"status":"success"/),
        // The worker's closing line, just after its summary: `end` waits for it (CRAWLER_END_SETTLE_MS).
        '[SUCCESS] Domain generation completed!',
      ];
      for (const s of subscribers) {
        expect(s.status).toBe(200);
        expect(s.lines).toEqual(expected);
        expect(s.messages.map((e) => e.id)).toEqual(['1', '2', '3', '4', '5', '6']);
        expect(s.events.at(-1)).toMatchObject({ event: 'end', data: '{"status":"completed"}' });
      }
      const status = await jobStatus(t, jobId, user.token);
      expect(status).toMatchObject({
        job_id: jobId,
        status: 'completed',
        progress: 100,
        keywords: ['coffee shop'],
        domain_count: 3,
        summary: { status: 'success', domains_generated: { success: 3, total: 3 } },
        error: null,
      });
      expect(status.domains).toEqual(
        expect.arrayContaining(['coffee-shop-1.com', 'coffee-shop-3.com']),
      );
      expect(status.finished_at).toMatch(/Z$/);
      // The worker's [SUCCESS] after its [SUMMARY] is stored, not refused.
      expect((await jobStatus(t, jobId, user.token)).log_count).toBe(6);
      expect((await storedLines(t, jobId)).at(-1)?.message).toBe(
        '[SUCCESS] Domain generation completed!',
      );

      // A late subscriber replays everything, then end.
      const late = await openStream(t, jobId, user.token);
      await late.closed;
      expect(late.lines).toEqual(expected);
      expect(late.events.at(-1)).toMatchObject({ event: 'end', data: '{"status":"completed"}' });
    } finally {
      fake.options.playRun = false;
      fake.hang = false;
      fake.release();
    }
  });

  it('sends the contract headers and keeps a line with newlines in one event that cannot forge another', async () => {
    const jobId = await runningJob();
    const stream = await openStream(t, jobId, user.token);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(stream.headers['cache-control']).toContain('no-cache');
    expect(stream.headers['x-accel-buffering']).toBe('no');
    const forged = 'first\nevent: end\ndata: {"status":"completed"}\n\nid: 999\r\ndata: injected';
    expect(await postLines(t, jobId, [forged])).toBe(200);
    await waitFor(() => stream.messages.length === 1, { what: 'the line' });
    expect(stream.events).toEqual([
      { id: '1', event: 'message', data: forged.replace(/\r\n/g, '\n') },
    ]);
    expect(stream.raw).toContain('data: event: end\n');
    // A client that goes away frees its stream and its channel listener.
    const fanout = t.app.get(RedisFanout);
    const streams = t.app.get(CrawlerLogStream);
    expect(fanout.listenerCount).toBeGreaterThan(0);
    stream.close();
    await waitFor(() => streams.openCount === 0 && fanout.listenerCount === 0, {
      what: 'the stream to be released',
    });
  });

  it('replays history then live lines with no gap or duplicate, and resumes after Last-Event-ID', async () => {
    const jobId = await runningJob();
    expect(await postLines(t, jobId, ['l1', 'l2', 'l3'])).toBe(200);
    const full = await openStream(t, jobId, user.token);
    const resumed = await openStream(t, jobId, user.token, { 'last-event-id': '2' });
    const byQuery = await openStream(t, jobId, user.token, {}, '?last_event_id=1');
    // Live lines posted while the streams are replaying.
    for (let i = 4; i <= 40; i++) expect(await postLines(t, jobId, [`l${i}`])).toBe(200);
    await waitFor(
      () => full.lines.length >= 40 && resumed.lines.length >= 38 && byQuery.lines.length >= 39,
      {
        what: 'all lines',
      },
    );
    const all = Array.from({ length: 40 }, (_, i) => `l${i + 1}`);
    expect(full.lines).toEqual(all);
    expect(full.messages.map((e) => Number(e.id))).toEqual(all.map((_, i) => i + 1));
    expect(resumed.lines).toEqual(all.slice(2));
    expect(resumed.messages[0].id).toBe('3');
    expect(byQuery.lines).toEqual(all.slice(1));
    for (const s of [full, resumed, byQuery]) s.close();
  });

  it('delivers lines posted to one instance to a subscriber on a second instance of the deployment', async () => {
    const second = await createCrawlerApp(fake, {
      REDIS_KEY_PREFIX: t.config.redis.keyPrefix,
      APP_ROLE: 'api',
    });
    try {
      const jobId = await runningJob();
      const onSecond = await openStream(second, jobId, user.token);
      const onFirst = await openStream(t, jobId, user.token);
      await waitFor(() => onSecond.headers['content-type'], { what: 'the stream to open' });
      const batch = Array.from({ length: 30 }, (_, i) => `batch ${i}`);
      expect(await postLines(t, jobId, batch.slice(0, 10))).toBe(200);
      expect(await postLines(second, jobId, batch.slice(10, 20))).toBe(200);
      await Promise.all(
        batch.slice(20).map((line, i) => postLines(i % 2 ? t : second, jobId, [line])),
      );
      await waitFor(() => onSecond.lines.length === 30 && onFirst.lines.length === 30, {
        what: '30 lines on both',
      });
      expect(onSecond.lines).toEqual(onFirst.lines);
      expect(onSecond.lines.slice(0, 20)).toEqual(batch.slice(0, 20));
      expect(new Set(onSecond.lines).size).toBe(30);
      expect(onSecond.messages.map((e) => Number(e.id))).toEqual(
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
      // Ending the job on the first instance ends the stream on the second.
      expect(
        (await t.http.post(`/api/crawler/cancel/${jobId}`, undefined, user.token)).status,
      ).toBe(200);
      await onSecond.closed;
      expect(onSecond.events.at(-1)).toMatchObject({
        event: 'end',
        data: '{"status":"cancelled"}',
      });
      onFirst.close();
    } finally {
      await second.close();
    }
  });

  it('accepts the token as ?access_token=, answers 401 without one and 404 for another user’s job', async () => {
    const jobId = await runningJob();
    await postLines(t, jobId, ['hello']);
    const viaQuery = await SseClient.open(
      `${t.baseUrl}/api/crawler/logs/${jobId}?access_token=${user.token}`,
    );
    expect(viaQuery.status).toBe(200);
    await waitFor(() => viaQuery.lines[0] === 'hello', { what: 'the line' });
    viaQuery.close();

    const anonymous = await t.http.get(`/api/crawler/logs/${jobId}`);
    expect(anonymous.status).toBe(401);
    const stranger = await t.http.get(`/api/crawler/logs/${jobId}`, other.token);
    expect(stranger.status).toBe(404);
    expect((await t.http.get(`/api/crawler/status/${jobId}`, other.token)).status).toBe(404);
    expect((await t.http.post(`/api/crawler/cancel/${jobId}`, undefined, other.token)).status).toBe(
      404,
    );
    expect((await t.http.get(`/api/crawler/status/${jobId}`)).status).toBe(401);
    // An admin sees everyone's jobs.
    expect((await t.http.get(`/api/crawler/status/${jobId}`, admin.token)).body.status).toBe(
      'running',
    );
    const unknown = await t.http.get(
      '/api/crawler/logs/00000000-0000-4000-8000-000000000000',
      user.token,
    );
    expect(unknown.status).toBe(404);
  });

  it('guards the webhook with X-API-Key and answers 404 for an unknown job', async () => {
    const jobId = await runningJob();
    const body = { job_id: jobId, message: '[INFO] hi' };
    expect((await t.http.post('/api/crawler/log', body)).status).toBe(401);
    expect(
      (
        await t.http.post('/api/crawler/log', body, undefined, {
          'x-api-key': 'wrong-key-0123456789',
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await t.http.post('/api/crawler/log', body, undefined, {
          'x-api-key': WEBHOOK_KEY.slice(0, -1),
        })
      ).status,
    ).toBe(401);
    const ok = await t.http.post('/api/crawler/log', body, undefined, { 'x-api-key': WEBHOOK_KEY });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({
      status: 'success',
      job_id: jobId,
      message: 'Log message received and queued',
    });

    const unknownId = '7d1f1b5e-8a4e-4c7a-9a59-0d7b3a2c1e11';
    const unknown = await t.http.post(
      '/api/crawler/log',
      { job_id: unknownId, message: 'x' },
      undefined,
      { 'x-api-key': WEBHOOK_KEY },
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toBe(`Job ${unknownId} not found or already completed`);
    const notUuid = await t.http.post(
      '/api/crawler/log',
      { job_id: 'abc-123', message: 'x' },
      undefined,
      { 'x-api-key': WEBHOOK_KEY },
    );
    expect(notUuid.status).toBe(404);
  });

  it('accepts a batch of up to 500 lines in order and validates the body with 422', async () => {
    const jobId = await runningJob();
    const lines = Array.from(
      { length: 500 },
      (_, i) => `[INFO] Progress: ${Math.floor(i / 5)}% line ${i}`,
    );
    expect(await postLines(t, jobId, lines)).toBe(200);
    const stored = await storedLines(t, jobId);
    expect(stored.map((r) => r.message)).toEqual(lines);
    expect(stored.map((r) => r.seq)).toEqual(lines.map((_, i) => i + 1));
    expect((await jobStatus(t, jobId, user.token)).progress).toBe(99);
    // A replay longer than one page arrives whole and in order.
    const replay = await openStream(t, jobId, user.token);
    await waitFor(() => replay.lines.length === 500, { what: '500 replayed lines' });
    expect(replay.lines).toEqual(lines);
    replay.close();

    const headers = { 'x-api-key': WEBHOOK_KEY };
    const tooMany = await t.http.post(
      '/api/crawler/log',
      { job_id: jobId, messages: [...lines, 'one more'] },
      undefined,
      headers,
    );
    expect(tooMany.status).toBe(422);
    const both = await t.http.post(
      '/api/crawler/log',
      { job_id: jobId, message: 'a', messages: ['b'] },
      undefined,
      headers,
    );
    expect(both.status).toBe(422);
    const neither = await t.http.post('/api/crawler/log', { job_id: jobId }, undefined, headers);
    expect(neither.status).toBe(422);
    const extra = await t.http.post(
      '/api/crawler/log',
      { job_id: jobId, message: 'a', level: 'info' },
      undefined,
      headers,
    );
    expect(extra.status).toBe(422);
    expect((await storedLines(t, jobId)).length).toBe(500);
  });

  it('lists jobs paged: a user sees their own, an admin everyone’s', async () => {
    const mine = await t.http.get('/api/crawler/jobs?page=1&limit=2', user.token);
    expect(mine.status).toBe(200);
    expect(mine.body.data).toHaveLength(2);
    expect(mine.body.meta).toMatchObject({ page: 1, limit: 2 });
    expect(mine.body.meta.total).toBeGreaterThanOrEqual(5);
    expect(mine.body.data.every((j: { user_id: string }) => j.user_id === user.id)).toBe(true);
    const theirs = await t.http.get('/api/crawler/jobs', other.token);
    expect(theirs.body.meta.total).toBe(0);
    const all = await t.http.get('/api/crawler/jobs?limit=100', admin.token);
    expect(all.body.meta.total).toBeGreaterThanOrEqual(mine.body.meta.total);
    expect((await t.http.get('/api/crawler/jobs?limit=101', user.token)).status).toBe(422);
  });

  it('rejects an invalid start with 422 listing the fields', async () => {
    const res = await t.http.post(
      '/api/crawler/start',
      { domain_count: 0, keywords: [] },
      user.token,
    );
    expect(res.status).toBe(422);
    const messages = (res.body.message as string[]).join('\n');
    expect(messages).toMatch(/domain_count/);
    expect(messages).toMatch(/keywords/);
  });
});
