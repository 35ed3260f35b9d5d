import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeScraperApi } from '../fakes/fake-scraper-api.js';
import { openSse } from '../utils/sse-client.js';
import { createTestApp, createUser, type TestApp, type TestUser } from '../utils/test-app.js';

describe('Scraper events stream of a finished job, as a browser EventSource reconnects', () => {
  let fake: FakeScraperApi;
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    fake = await new FakeScraperApi({ apiKey: 'ended-key' }).start();
    t = await createTestApp({
      env: { PYTHON_SCRAPER_API_URL: fake.url, PYTHON_SCRAPER_API_KEY: 'ended-key' },
    });
    user = await createUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.stop();
  });

  const events = (jobId: string, headers: Record<string, string> = {}) =>
    openSse(`${t.baseUrl}/api/scraper/jobs/${jobId}/events`, {
      authorization: `Bearer ${user.token}`,
      ...headers,
    });

  it('answers 204 to a reconnect after `end` (so the browser stops), and the final state again to one that missed it', async () => {
    const res = await t.http.post(
      '/api/scraper/jobs',
      { keyword: 'soto ended', location: 'Bandung' },
      user.token,
    );
    expect(res.status).toBe(202);
    const jobId = res.body.job_id as string;
    const first = await events(jobId);
    await first.closed;
    const end = first.events.at(-1)!;
    expect(end.event).toBe('end');
    expect(JSON.parse(end.data)).toMatchObject({ status: 'completed' });

    // What an EventSource sends ~3 s after the server closed the stream following `end`.
    const again = await events(jobId, { 'last-event-id': end.id! });
    await again.closed;
    expect(again.status).toBe(204);
    expect(again.events).toEqual([]);

    // A client cut off before `end` still gets the final state and `end` on its reconnect.
    const missed = await events(jobId, { 'last-event-id': first.events[0].id! });
    await missed.closed;
    expect(missed.status).toBe(200);
    expect(missed.events.at(-1)).toMatchObject({ event: 'end', id: end.id });
  });
});
