import { request as httpRequest } from 'node:http';
import { DataSource } from 'typeorm';
import { FakeRunpod, sendLines } from '../fakes/fake-runpod.js';
import { SseClient } from './sse-client.js';
import {
  createTestApp,
  waitFor,
  type TestApp,
  type TestAppOptions,
  type TestUser,
} from './test-app.js';

export const WEBHOOK_KEY = 'test-webhook-key-0123456789';

/** An app wired to a fake RunPod (pod mode unless env says otherwise). */
export async function createCrawlerApp(
  fake: FakeRunpod,
  env: Record<string, string | undefined> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const t = await createTestApp({
    ...options,
    env: {
      CRAWLER_WEBHOOK_API_KEY: WEBHOOK_KEY,
      RUNPOD_URL: fake.url,
      RUNPOD_API_BASE: fake.url,
      RUNPOD_TIMEOUT_MS: '3000',
      ...env,
    },
  });
  fake.options.webhookUrl ??= `${t.baseUrl}/api/crawler/log`;
  fake.options.webhookApiKey ??= WEBHOOK_KEY;
  return t;
}

export async function startJob(
  t: TestApp,
  user: TestUser,
  keywords = ['coffee shop'],
  domainCount = 3,
): Promise<string> {
  const res = await t.http.post(
    '/api/crawler/start',
    { domain_count: domainCount, keywords },
    user.token,
  );
  if (res.status !== 201)
    throw new Error(`start failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.job_id as string;
}

export function postLines(t: TestApp, jobId: string, lines: string[]): Promise<number> {
  return sendLines(`${t.baseUrl}/api/crawler/log`, WEBHOOK_KEY, jobId, lines);
}

export function openStream(
  t: TestApp,
  jobId: string,
  token: string,
  headers: Record<string, string> = {},
  query = '',
) {
  return SseClient.open(`${t.baseUrl}/api/crawler/logs/${jobId}${query}`, {
    authorization: `Bearer ${token}`,
    ...headers,
  });
}

export async function jobStatus(t: TestApp, jobId: string, token: string) {
  const res = await t.http.get(`/api/crawler/status/${jobId}`, token);
  return res.body;
}

export function waitForStatus(
  t: TestApp,
  jobId: string,
  token: string,
  status: string,
  timeoutMs = 10_000,
) {
  return waitFor(
    async () => {
      const body = await jobStatus(t, jobId, token);
      return body.status === status ? body : null;
    },
    { timeoutMs, what: `job ${jobId} to be ${status}` },
  );
}

export async function storedLines(
  t: TestApp,
  jobId: string,
): Promise<Array<{ seq: number; message: string }>> {
  return t.app
    .get(DataSource)
    .query('SELECT seq, message FROM crawler_job_logs WHERE job_id = $1 ORDER BY seq', [jobId]);
}

export { FakeRunpod, SseClient, waitFor };

/** One line over a fresh connection closed after the answer (no keep-alive): 0 when the connection fails. */
export function postLineFreshConnection(t: TestApp, jobId: string, line: string): Promise<number> {
  const body = JSON.stringify({ job_id: jobId, message: line });
  return new Promise((resolve) => {
    const req = httpRequest(
      `${t.baseUrl}/api/crawler/log`,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'x-api-key': WEBHOOK_KEY,
          connection: 'close',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}
