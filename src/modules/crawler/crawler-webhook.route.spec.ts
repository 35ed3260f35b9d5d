import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { CRAWLER_WEBHOOK_ROUTE, installCrawlerWebhookLeanPath } from './crawler-webhook.route.js';
import { UnknownCrawlerJobError } from './log/crawler-log.writer.js';

const KEY = 'the-webhook-key';
const JOB = '6d1f9f8e-0000-4000-8000-000000000001';

/**
 * A bare Fastify with the lean path installed and a stand-in for Nest's handler on the marked
 * route, recording what reached each: the writer's appends, and the requests passed on to Nest.
 */
async function server(append: (jobId: string, lines: string[]) => Promise<void>) {
  const appended: Array<[string, string[]]> = [];
  const passedOn: unknown[] = [];
  const fastify = Fastify();
  installCrawlerWebhookLeanPath(fastify, {
    key: { refusal: (header) => (header === KEY ? null : 'Invalid X-API-Key') },
    writer: {
      append: (jobId, lines) => {
        appended.push([jobId, lines]);
        return append(jobId, lines);
      },
    },
  });
  fastify.route({
    method: 'POST',
    url: '/api/crawler/log',
    config: CRAWLER_WEBHOOK_ROUTE,
    handler: async (request) => {
      passedOn.push(request.body);
      return { via: 'nest' };
    },
  });
  await fastify.ready();
  const post = (body: unknown, key: string | null = KEY) =>
    fastify.inject({
      method: 'POST',
      url: '/api/crawler/log',
      headers: key === null ? {} : { 'x-api-key': key },
      payload: body as object,
    });
  return { fastify, appended, passedOn, post };
}

describe('the crawler webhook lean path', () => {
  let fastify: FastifyInstance | undefined;
  afterEach(async () => {
    await fastify?.close();
    fastify = undefined;
  });

  it('answers a valid one-line request itself, once the writer has stored the line', async () => {
    const s = await server(() => Promise.resolve());
    fastify = s.fastify;
    const res = await s.post({ job_id: JOB, message: '[INFO] one' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'success',
      job_id: JOB,
      message: 'Log message received and queued',
    });
    expect(s.appended).toEqual([[JOB, ['[INFO] one']]]);
    expect(s.passedOn).toEqual([]);
  });

  it('hands a batch to the writer in order', async () => {
    const s = await server(() => Promise.resolve());
    fastify = s.fastify;
    const res = await s.post({ job_id: JOB, messages: ['a', 'b', 'c'] });
    expect(res.statusCode).toBe(200);
    expect(s.appended).toEqual([[JOB, ['a', 'b', 'c']]]);
  });

  it('passes a missing or wrong key on to Nest without writing', async () => {
    const s = await server(() => Promise.resolve());
    fastify = s.fastify;
    for (const key of [null, 'wrong']) {
      const res = await s.post({ job_id: JOB, message: 'x' }, key);
      expect(res.json()).toEqual({ via: 'nest' });
    }
    expect(s.appended).toEqual([]);
    expect(s.passedOn).toHaveLength(2);
  });

  it('passes every body that is not plainly valid on to Nest (its 422 lists the fields)', async () => {
    const s = await server(() => Promise.resolve());
    fastify = s.fastify;
    const bad = [
      { job_id: JOB, message: 'x', extra: 1 },
      { job_id: JOB, message: 'x', messages: ['y'] },
      { job_id: JOB },
      { job_id: JOB, messages: [] },
      { job_id: JOB, message: 'x'.repeat(16_385) },
      { job_id: 7, message: 'x' },
      [{ job_id: JOB, message: 'x' }],
    ];
    for (const body of bad) expect((await s.post(body)).json()).toEqual({ via: 'nest' });
    expect(s.appended).toEqual([]);
    expect(s.passedOn).toEqual(bad);
  });

  it('answers a job id that is not a UUID with 404 in the error shape, without the writer', async () => {
    const s = await server(() => Promise.resolve());
    fastify = s.fastify;
    const res = await s.post({ job_id: 'not-a-uuid', message: 'x' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'Job not-a-uuid not found or already completed',
    });
    expect(s.appended).toEqual([]);
    expect(s.passedOn).toEqual([]);
  });

  it("answers the writer's errors in the error shape: unknown job 404, backing service down 503", async () => {
    const s = await server((jobId) =>
      jobId === JOB
        ? Promise.reject(new UnknownCrawlerJobError(jobId))
        : Promise.reject(
            Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
          ),
    );
    fastify = s.fastify;
    const unknown = await s.post({ job_id: JOB, message: 'x' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: `Job ${JOB} not found or already completed`,
    });
    const down = await s.post({ job_id: JOB.replace('1', '2'), message: 'x' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
  });

  it('refuses to start when no route carries the marker (the lean path would be lost)', async () => {
    fastify = Fastify();
    installCrawlerWebhookLeanPath(fastify, {
      key: { refusal: () => null },
      writer: { append: () => Promise.resolve() },
    });
    fastify.post('/api/crawler/log', async () => ({}));
    await expect(fastify.ready()).rejects.toThrow(/lost its lean path/);
  });
});
