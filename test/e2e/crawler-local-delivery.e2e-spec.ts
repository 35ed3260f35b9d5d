import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy } from '../utils/tcp-proxy.js';
import { createUser, uniquePrefix, type TestApp, type TestUser } from '../utils/test-app.js';
import { createCrawlerApp, FakeRunpod, openStream, postLines } from '../utils/crawler.js';

/**
 * Two API processes sharing Redis through a proxy the test cuts. A stream on the process that
 * committed a line gets it in process, without the Redis round trip; the other process's streams
 * get it over Redis; no stream gets a line twice.
 */
describe('Crawler log delivery on the committing process', () => {
  const fake = new FakeRunpod();
  const redisProxy = new TcpProxy('127.0.0.1', 6379);
  let a: TestApp;
  let b: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    await fake.start();
    await redisProxy.start();
    const env = {
      REDIS_URL: `redis://127.0.0.1:${redisProxy.port}/0`,
      REDIS_KEY_PREFIX: uniquePrefix(),
    };
    a = await createCrawlerApp(fake, env);
    b = await createCrawlerApp(fake, { ...env, APP_ROLE: 'api' });
    user = await createUser(a);
  });
  afterAll(async () => {
    if (!redisProxy.running) await redisProxy.start(redisProxy.port); // shutdown talks to Redis
    await b?.close();
    await a?.close();
    await redisProxy.stop();
    await fake.close();
  });

  it("streams a line to the committing process's viewers while Redis is unreachable, and to every viewer once", async () => {
    const [{ id: jobId }] = await a.app.get(DataSource).query<Array<{ id: string }>>(
      `INSERT INTO crawler_jobs (user_id, status, keywords, domain_count, priority, timeout_seconds, started_at, last_activity_at)
         VALUES ($1, 'running', ARRAY['local'], 3, 10, 600, now(), now()) RETURNING id`,
      [user.id],
    );
    const onA = await openStream(a, jobId, user.token);
    const onB = await openStream(b, jobId, user.token);
    // Both streams live: a line from each process reaches both.
    expect(await postLines(a, jobId, ['[INFO] first, from a'])).toBe(200);
    expect(await postLines(b, jobId, ['[INFO] second, from b'])).toBe(200);
    for (const stream of [onA, onB]) await stream.until((e) => e.data === '[INFO] second, from b');

    await redisProxy.stop();
    expect(await postLines(a, jobId, ['[INFO] third, from a, Redis cut'])).toBe(200);
    // Only in process: without Redis, nothing else would bring it before the 15 s keepalive re-read.
    await onA.until((e) => e.data === '[INFO] third, from a, Redis cut');

    await redisProxy.start(redisProxy.port);
    expect(await postLines(a, jobId, ['[INFO] fourth, from a'])).toBe(200);
    for (const stream of [onA, onB]) await stream.until((e) => e.data === '[INFO] fourth, from a');
    const expected = [
      '[INFO] first, from a',
      '[INFO] second, from b',
      '[INFO] third, from a, Redis cut',
      '[INFO] fourth, from a',
    ];
    for (const stream of [onA, onB]) {
      expect(stream.lines).toEqual(expected);
      expect(stream.messages.map((e) => e.id)).toEqual(['1', '2', '3', '4']);
      stream.close();
    }
  });
});
