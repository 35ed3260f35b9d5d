import { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { FakeScraperApi } from '../fakes/fake-scraper-api.js';
import {
  createTestApp,
  createUser,
  uniquePrefix,
  waitFor,
  type TestApp,
  type TestUser,
} from '../utils/test-app.js';
import { ensureBuilt, startWorkerProcess, type WorkerProcess } from '../utils/worker-process.js';

const API_KEY = 'single-flight-key';
const USERS = 50;
const ROUNDS = 3;
const PLACES = 20;
/** Booting a compiled worker takes seconds, and much longer on a busy 2-core machine. */
const WORKER_START_TIMEOUT_MS = 60_000;

/**
 * Issue 12 item 10: identical queries in flight share one provider call, across worker
 * processes. One API process and TWO compiled worker processes share a Redis prefix; the
 * provider is the fake scraper API, whose calls are counted.
 */
describe('Scraper single flight across worker processes', () => {
  let fake: FakeScraperApi;
  let api: TestApp;
  let db: DataSource;
  let users: TestUser[];
  let prefix: string;
  const workers: WorkerProcess[] = [];
  // Short locks and leases: a dead worker's job and lease are taken over within the test.
  const locks = { SCRAPER_LOCK_DURATION_MS: '1000', SCRAPER_STALLED_INTERVAL_MS: '500' };

  const env = () => ({
    REDIS_KEY_PREFIX: prefix,
    PYTHON_SCRAPER_API_URL: fake.url,
    PYTHON_SCRAPER_API_KEY: API_KEY,
    SCRAPER_BACKOFF_MS: '20',
    ...locks,
  });
  const startWorker = async () => {
    const worker = await startWorkerProcess(
      { DATABASE_URL: inject('databaseUrl'), ...env() },
      WORKER_START_TIMEOUT_MS,
    );
    workers.push(worker);
    return worker;
  };
  /** Whether a worker logged `what "<keyword>"` (the logs are JSON: the quotes are escaped). */
  const logged = (w: WorkerProcess, what: string, keyword: string) =>
    new RegExp(`${what} \\\\?"${keyword}`).test(w.output());
  const running = () => workers.filter((w) => w.child.exitCode === null && !w.child.signalCode);

  beforeAll(async () => {
    ensureBuilt();
    fake = await new FakeScraperApi({ apiKey: API_KEY }).start();
    prefix = uniquePrefix();
    api = await createTestApp({ env: { ...env(), APP_ROLE: 'api' } });
    db = api.app.get(DataSource);
    // Registered together: hashing 50 passwords one after another is most of a minute here.
    users = await Promise.all(Array.from({ length: USERS }, () => createUser(api)));
    await Promise.all([startWorker(), startWorker()]);
  }, 180_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    await api?.close();
    await fake?.stop();
  });
  beforeEach(() => fake.reset());

  /** Every user POSTs the same query at the same moment; resolves with each user's job id. */
  async function stampede(who: TestUser[], keyword: string): Promise<string[]> {
    const answers = await Promise.all(
      who.map((user) =>
        api.http.post('/api/scraper/jobs', { keyword, location: 'Jakarta Selatan' }, user.token),
      ),
    );
    for (const res of answers) expect([200, 202]).toContain(res.status);
    return answers.map((res) => res.body.job_id as string);
  }

  async function allFinished(ids: string[], timeoutMs = 30_000) {
    return waitFor(
      async () => {
        const rows = await db.query(
          `SELECT id, user_id, status, error, result, attempts_made FROM scraper_jobs WHERE id = ANY($1::uuid[])`,
          [ids],
        );
        return rows.length === ids.length &&
          rows.every((r: { status: string }) => ['completed', 'failed'].includes(r.status))
          ? rows
          : undefined;
      },
      { timeoutMs, what: `${ids.length} jobs to finish` },
    );
  }

  /** Waits for the jobs to finish, then asserts each completed with the query's places, all new. */
  async function allCompleted(ids: string[], timeoutMs?: number) {
    const rows = await allFinished(ids, timeoutMs);
    for (const row of rows) {
      expect(row).toMatchObject({
        status: 'completed',
        error: null,
        result: { total: PLACES, inserted: PLACES, duplicates: 0 },
      });
    }
    return rows;
  }

  /** Each user has exactly the query's places, once each, stored by their own job. */
  async function expectPlacesPerUser(who: TestUser[], ids: string[], keyword: string) {
    const rows = await db.query(
      `SELECT j.user_id, count(p.id)::int AS n, count(DISTINCT lower(p.name))::int AS names
         FROM scraper_jobs j LEFT JOIN google_map_places p ON p.scraper_job_id = j.id
        WHERE j.id = ANY($1::uuid[]) GROUP BY j.user_id`,
      [ids],
    );
    expect(rows).toHaveLength(who.length);
    for (const row of rows) expect(row).toMatchObject({ n: PLACES, names: PLACES });
    const owners = await db.query(
      `SELECT DISTINCT user_id FROM google_map_places WHERE keyword = $1`,
      [keyword],
    );
    expect(owners.map((r: { user_id: string }) => r.user_id).sort()).toEqual(
      who.map((u) => u.id).sort(),
    );
  }

  it(`makes exactly one provider call when ${USERS} users ask the same uncached query at once (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      fake.reset();
      // Slow enough that the jobs running on both workers are in flight together.
      fake.latencyMs = 300;
      const keyword = `stampede ${round} ${prefix}`;
      const ids = await stampede(users, keyword);
      await allCompleted(ids);
      expect(fake.callsFor(keyword)).toHaveLength(1);
      // Not only the cache: jobs on both processes waited for the call in flight.
      expect(running().some((w) => logged(w, 'following the provider call for', keyword))).toBe(
        true,
      );
      await expectPlacesPerUser(users, ids, keyword);
    }
  }, 120_000);

  it('completes every job when the leader’s provider call fails: one follower takes over', async () => {
    const who = users.slice(0, 10);
    const keyword = `leader fails ${prefix}`;
    fake.latencyMs = 300;
    fake.failNext = 1; // the first call answers 503
    const ids = await stampede(who, keyword);
    const rows = await allCompleted(ids);
    // The failed call and the one that took over; nobody else called.
    expect(fake.callsFor(keyword)).toHaveLength(2);
    // Only the leader's attempt failed (and was retried); the followers finished in one attempt.
    expect(rows.filter((r: { attempts_made: number }) => r.attempts_made > 1)).toHaveLength(1);
    await expectPlacesPerUser(who, ids, keyword);
  }, 60_000);

  it('does not give a job a shared answer with fewer places than it asked for', async () => {
    const [small, large] = users.slice(16, 18);
    const keyword = `max results ${prefix}`;
    fake.latencyMs = 500;
    const first = await api.http.post(
      '/api/scraper/jobs',
      { keyword, location: 'Jakarta Selatan', max_results: 5 },
      small.token,
    );
    await waitFor(() => fake.callsFor(keyword).length === 1, { what: 'the first call' });
    // Asks for 20 while the call for 5 is in flight: it waits, finds 5 too few, and calls itself.
    const second = await api.http.post(
      '/api/scraper/jobs',
      { keyword, location: 'Jakarta Selatan', max_results: PLACES },
      large.token,
    );
    const rows = await allFinished([first.body.job_id, second.body.job_id]);
    const byUser = new Map(rows.map((r: { user_id: string }) => [r.user_id, r]));
    expect(byUser.get(small.id)).toMatchObject({ status: 'completed', result: { total: 5 } });
    expect(byUser.get(large.id)).toMatchObject({ status: 'completed', result: { total: PLACES } });
    expect(fake.callsFor(keyword).map((c) => c.max_results)).toEqual([5, PLACES]);
  });

  it('takes over after the lease expires when the leader’s worker process is SIGKILLed', async () => {
    expect(running()).toHaveLength(2);
    const who = users.slice(20, 26);
    const keyword = `leader killed ${prefix}`;
    fake.latencyMs = 60_000; // the leader is stuck in the provider call when it dies
    const ids = await stampede(who, keyword);
    await waitFor(() => fake.callsFor(keyword).length === 1, { what: 'the leader’s call' });
    const [a, b] = running();
    const leader = await waitFor(
      () => [a, b].find((w) => logged(w, 'leading the provider call for', keyword)),
      { what: 'the leader to log' },
    );
    const other = leader === a ? b : a;
    // Six jobs, two at a time per worker: the other worker has a job following the leader.
    await waitFor(() => logged(other, 'following the provider call for', keyword), {
      what: 'a follower on the other worker',
    });
    await leader.kill('SIGKILL');
    fake.latencyMs = 0;

    await allCompleted(ids, 30_000);
    // The killed leader's call and the one call of the worker that took over.
    expect(fake.callsFor(keyword)).toHaveLength(2);
    await expectPlacesPerUser(who, ids, keyword);
    await startWorker(); // for any later test
  }, 60_000);
});
