import { Logger } from '@nestjs/common';
import Bull from 'bull';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startQueueWorker } from '@app/common';
import { uniquePrefix } from '../utils/test-app.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';

describe('startQueueWorker', () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', record);
  });
  afterEach(() => {
    process.off('unhandledRejection', record);
  });

  it('leaves no unhandled rejection when its queue closes the moment the worker starts', async () => {
    const logger = new Logger('queue-worker-test');
    logger.debug = () => undefined;
    for (let i = 0; i < 25; i++) {
      const queue = new Bull(`close-at-start-${i}`, REDIS_URL, { prefix: uniquePrefix() });
      // As in an app shut down right after it started: the queue is ready, the worker's
      // blocking connection is still being set up when the close comes.
      await queue.isReady();
      startQueueWorker(queue, 'work', 1, async () => undefined, logger);
      // Close at a spread of moments while that connection is set up (0–4 ms).
      await new Promise((resolve) => setTimeout(resolve, i % 5));
      await queue.close();
    }
    // Rejections are reported after the microtask queue drains: give them a macrotask turn.
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled.map((reason) => (reason as Error)?.message)).toEqual([]);
  });
});
