import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, uniquePrefix, type TestApp, type TestUser } from '../utils/test-app.js';
import {
  createCrawlerApp,
  FakeRunpod,
  jobStatus,
  openStream,
  postLineFreshConnection,
  postLines,
  startJob,
  storedLines,
  waitFor,
  waitForStatus,
} from '../utils/crawler.js';

describe('Crawler on serverless RunPod, with a short inactivity timeout', () => {
  const fake = new FakeRunpod({ endpointId: 'ep-test', apiKey: 'rp-secret-key' });
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    await fake.start();
    t = await createCrawlerApp(fake, {
      RUNPOD_MODE: 'serverless',
      RUNPOD_ENDPOINT_ID: 'ep-test',
      RUNPOD_API_KEY: 'rp-secret-key',
      CRAWLER_JOB_TIMEOUT: '2s',
    });
    user = await createUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await fake.close();
  });

  it('cancels a running job and asks RunPod to cancel its runs', async () => {
    const jobId = await startJob(t, user, ['alpha', 'beta']);
    await waitFor(
      () => fake.jobRequests.filter((r) => r.body.input?.job_id === jobId).length === 2,
      { what: 'two runs' },
    );
    const run = fake.jobRequests.find((r) => r.body.input?.job_id === jobId)!;
    expect(run.path).toBe('/ep-test/run');
    expect(run.headers.authorization).toBe('Bearer rp-secret-key');
    expect(run.body.input).toMatchObject({ num_domains: 3, job_id: jobId });
    await waitFor(async () => (await jobStatus(t, jobId, user.token)).status === 'running', {
      what: 'running',
    });
    // Both runs recorded before cancelling (the processor stores run ids after RunPod answers).
    await waitFor(
      async () => {
        const rows = await t.app
          .get((await import('typeorm')).DataSource)
          .query('SELECT runpod_runs FROM crawler_jobs WHERE id = $1', [jobId]);
        return Object.keys(rows[0].runpod_runs).length === 2;
      },
      { what: 'run ids stored' },
    );
    const stream = await openStream(t, jobId, user.token);
    expect(await postLines(t, jobId, ['[INFO] working'])).toBe(200);
    const res = await t.http.post(`/api/crawler/cancel/${jobId}`, undefined, user.token);
    expect(res.status).toBe(200);
    expect(fake.cancelled).toHaveLength(2);
    expect(fake.cancelled.every((id) => id.startsWith('run-'))).toBe(true);
    await stream.closed;
    expect(stream.lines).toEqual(['[INFO] working']);
    expect(stream.events.at(-1)).toMatchObject({
      event: 'end',
      id: '1',
      data: '{"status":"cancelled"}',
    });
    expect((await t.http.post(`/api/crawler/cancel/${jobId}`, undefined, user.token)).status).toBe(
      409,
    );
  });

  it('fails a running job that RunPod goes quiet on for CRAWLER_JOB_TIMEOUT', async () => {
    const jobId = await startJob(t, user, ['quiet']);
    await waitForStatus(t, jobId, user.token, 'running');
    const stream = await openStream(t, jobId, user.token);
    // Lines keep it alive…
    for (let i = 0; i < 3; i++) {
      expect(await postLines(t, jobId, [`[INFO] Progress: ${(i + 1) * 10}%`])).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 800));
    }
    expect((await jobStatus(t, jobId, user.token)).status).toBe('running');
    // …silence ends it.
    const failed = await waitForStatus(t, jobId, user.token, 'failed', 8_000);
    expect(failed.error).toMatch(/No activity from RunPod for 2 s \(CRAWLER_JOB_TIMEOUT\)/);
    expect(failed.progress).toBe(30);
    await stream.closed;
    expect(stream.lines).toHaveLength(3);
    expect(stream.events.at(-1)).toMatchObject({ event: 'end', data: '{"status":"failed"}' });
  });
});

describe('Crawler across a restart', () => {
  const fake = new FakeRunpod();
  const prefix = uniquePrefix();
  let user: TestUser;

  afterAll(() => fake.close());

  it('loses no line answered 2xx when the app restarts in the middle of a job', async () => {
    await fake.start();
    const first = await createCrawlerApp(fake, { REDIS_KEY_PREFIX: prefix });
    user = await createUser(first);
    const jobId = await startJob(first, user, ['restart']);
    await waitForStatus(first, jobId, user.token, 'running');
    for (let i = 1; i <= 20; i++) expect(await postLines(first, jobId, [`before ${i}`])).toBe(200);

    // Lines in flight while the process shuts down: each is either answered 2xx and stored, or refused.
    const inFlight = Array.from({ length: 60 }, (_, i) =>
      postLineFreshConnection(first, jobId, `during ${i}`).then((status) => ({
        line: `during ${i}`,
        status,
      })),
    );
    // Close while some are stored and others still arriving.
    await waitFor(async () => (await storedLines(first, jobId)).length >= 25, {
      intervalMs: 2,
      what: 'some lines in',
    });
    await first.close();
    const outcomes = await Promise.all(inFlight);
    const acknowledged = outcomes.filter((o) => o.status === 200).map((o) => o.line);
    expect(acknowledged.length).toBeGreaterThan(0);

    const second = await createCrawlerApp(fake, { REDIS_KEY_PREFIX: prefix });
    try {
      for (let i = 1; i <= 20; i++)
        expect(await postLines(second, jobId, [`after ${i}`])).toBe(200);
      const stored = (await storedLines(second, jobId)).map((r) => r.message);
      expect(new Set(stored).size).toBe(stored.length); // no duplicate
      for (const line of [
        ...Array.from({ length: 20 }, (_, i) => `before ${i + 1}`),
        ...acknowledged,
      ]) {
        expect(stored).toContain(line);
      }
      expect(stored.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => `before ${i + 1}`));
      expect(stored.slice(-20)).toEqual(Array.from({ length: 20 }, (_, i) => `after ${i + 1}`));

      // A subscriber on the new process replays it all, in order, then follows the job to its end.
      const stream = await openStream(second, jobId, user.token);
      expect(await postLines(second, jobId, ['[SUMMARY] {"status":"success"}'])).toBe(200);
      await stream.closed;
      expect(stream.lines).toEqual([...stored, '[SUMMARY] {"status":"success"}']);
      expect(stream.messages.map((e) => Number(e.id))).toEqual(stream.lines.map((_, i) => i + 1));
      expect((await jobStatus(second, jobId, user.token)).status).toBe('completed');
    } finally {
      await second.close();
    }
  });
});
