import { setImmediate as nextTurn } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import { describe, expect, it } from 'vitest';
import type { CrawlerService } from '../crawler.service.js';
import type { Metrics } from '../../metrics/metrics.service.js';
import type { CrawlerLogBus } from './crawler-log.bus.js';
import { CrawlerLogWriter } from './crawler-log.writer.js';

const JOB_A = '6d1f9f8e-0000-4000-8000-00000000000a';
const JOB_B = '6d1f9f8e-0000-4000-8000-00000000000b';

interface Statement {
  jobId: string;
  lines: string[];
  commit(): void;
}

/**
 * The writer on a stand-in pool: every append statement waits until the test commits it, so the
 * test sees which statements are in flight at once. Log counts are kept per job as the real
 * statement would.
 */
function writerOnHeldPool() {
  const running: Statement[] = [];
  const counts = new Map<string, number>();
  const pool = {
    query: ({ values }: { values: unknown[] }) =>
      new Promise((resolve) => {
        const [jobId, n, lines] = values as [string, number, string[]];
        running.push({
          jobId,
          lines,
          commit: () => {
            running.splice(running.indexOf(statement), 1);
            const logCount = (counts.get(jobId) ?? 0) + n;
            counts.set(jobId, logCount);
            resolve({
              rows: [
                { log_count: logCount, status: 'running', user_id: 'u', prev_status: 'running' },
              ],
            });
          },
        });
        const statement = running.at(-1)!;
      }),
  };
  const writer = new CrawlerLogWriter(
    { driver: { master: pool } } as unknown as DataSource,
    { publishLines: () => undefined } as unknown as CrawlerLogBus,
    {} as CrawlerService,
    {
      logBatchCommitted: () => undefined,
      m: { crawlerAppendErrors: { inc: () => undefined } },
    } as unknown as Metrics,
  );
  return { writer, running };
}

describe('CrawlerLogWriter', () => {
  it('keeps one statement per job in flight: lines arriving meanwhile form its next batch, other jobs go ahead', async () => {
    const { writer, running } = writerOnHeldPool();
    const first = writer.append(JOB_A, ['a1']);
    await nextTurn();
    expect(running.map((s) => [s.jobId, s.lines])).toEqual([[JOB_A, ['a1']]]);

    // While A's batch is being written: two more requests for A, one for B.
    const second = writer.append(JOB_A, ['a2']);
    const third = writer.append(JOB_A, ['a3']);
    const other = writer.append(JOB_B, ['b1']);
    await nextTurn();
    // B goes ahead; A's new lines wait (a second statement for A would only queue on its row lock).
    expect(running.map((s) => [s.jobId, s.lines])).toEqual([
      [JOB_A, ['a1']],
      [JOB_B, ['b1']],
    ]);

    running[0].commit();
    await first;
    // The writer schedules A's next batch a few promise hops after answering the first.
    for (let turn = 0; turn < 10 && running.length < 2; turn++) await nextTurn();
    // A's next batch: both lines that arrived meanwhile, in one statement.
    expect(running.map((s) => [s.jobId, s.lines])).toEqual([
      [JOB_B, ['b1']],
      [JOB_A, ['a2', 'a3']],
    ]);
    for (const statement of [...running]) statement.commit();
    await Promise.all([second, third, other]);
  });
});
