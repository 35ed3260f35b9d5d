import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FakeRunpod } from '../fakes/fake-runpod.js';
import { createCrawlerApp, startJob, waitForStatus, WEBHOOK_KEY } from '../utils/crawler.js';
import { createUser, uniquePrefix, waitFor, type TestApp } from '../utils/test-app.js';
import { ensureBuilt, startWorkerProcess, type WorkerProcess } from '../utils/worker-process.js';

interface LogLine {
  level: number;
  msg: string;
  job_id?: string;
  user_id?: string | null;
}
const WARN = 40;

/** The worker's JSON log lines that mention `jobId` anywhere: what `grep <job id>` finds. */
function linesAbout(output: string, jobId: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.includes(jobId))
    .map((line) => JSON.parse(line) as LogLine);
}

describe('Job-scoped logs (a worker process, JSON lines)', () => {
  const fake = new FakeRunpod();
  const prefix = uniquePrefix();
  let api: TestApp;
  let worker: WorkerProcess;

  beforeAll(async () => {
    ensureBuilt();
    await fake.start();
    api = await createCrawlerApp(fake, { APP_ROLE: 'api', REDIS_KEY_PREFIX: prefix });
    worker = await startWorkerProcess(
      {
        DATABASE_URL: inject('databaseUrl'),
        REDIS_KEY_PREFIX: prefix,
        RUNPOD_URL: fake.url,
        RUNPOD_TIMEOUT_MS: '3000',
        CRAWLER_WEBHOOK_API_KEY: WEBHOOK_KEY,
      },
      60_000, // a loaded machine can take a while to boot a process
    );
  }, 90_000);
  afterAll(async () => {
    await worker?.kill();
    await api?.close();
    await fake.close();
  });

  it('puts job_id and user_id on every line about a job; a retried RunPod failure is not logged as a warning', async () => {
    const user = await createUser(api);
    fake.failNext = 1;
    const jobId = await startJob(api, user);
    await waitForStatus(api, jobId, user.token, 'running');
    const lines = await waitFor(
      () => {
        const found = linesAbout(worker.output(), jobId);
        return found.some((l) => l.msg.includes('dispatched to RunPod')) ? found : undefined;
      },
      { what: 'the dispatch to be logged' },
    );
    expect(lines.length).toBeGreaterThanOrEqual(3); // attempt 1, attempt 2, dispatched
    for (const line of lines) expect(line).toMatchObject({ job_id: jobId, user_id: user.id });
    expect(lines.filter((l) => l.level >= WARN)).toEqual([]);
  });

  it('logs a RunPod failure once, with its cause, when the job fails for good', async () => {
    const user = await createUser(api);
    fake.failAlways = 503;
    try {
      const jobId = await startJob(api, user);
      await waitForStatus(api, jobId, user.token, 'failed', 20_000);
      const warnings = await waitFor(
        () => {
          const found = linesAbout(worker.output(), jobId).filter((l) => l.level >= WARN);
          return found.length ? found : undefined;
        },
        { what: 'the failure to be logged' },
      );
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ job_id: jobId, user_id: user.id });
      expect(warnings[0].msg).toMatch(/after 3 attempt\(s\).*RunPod answered 503/);
    } finally {
      fake.failAlways = null;
    }
  }, 40_000);
});
