import type { Logger } from '@nestjs/common';
import type { Job, Queue } from 'bull';

type WorkerNaming = { setWorkerName(): Promise<unknown> };

/**
 * Starts a Bull worker on `queue`: `queue.process(name, concurrency, handler)`, with the two
 * promises Bull leaves to its caller settled here.
 *
 * - `process()` settles only when the queue closes; a rejection (Redis gone, the app closed
 *   before the worker was ready) is logged, never left unhandled.
 * - Bull 4.16's `process()` also names its blocking connection (`CLIENT SETNAME`, shown by
 *   `CLIENT LIST`) in a promise nobody awaits (lib/queue.js `setHandler` → lib/worker.js
 *   `setWorkerName`). A queue closed while that command is in flight — an app shut down the
 *   moment it started — rejected it with "Connection is closed." as an unhandled rejection
 *   carrying only ioredis frames. Naming a connection is cosmetic, so its failure is logged at
 *   debug level.
 */
export function startQueueWorker<T>(
  queue: Queue<T>,
  name: string,
  concurrency: number,
  handler: (job: Job<T>) => Promise<unknown>,
  logger: Logger,
): void {
  const naming = queue as unknown as WorkerNaming;
  const setWorkerName = naming.setWorkerName.bind(queue);
  naming.setWorkerName = () =>
    setWorkerName().catch((error: unknown) => {
      logger.debug(`${queue.name} worker connection not named: ${reasonOf(error)}`);
    });
  queue.process(name, concurrency, handler).catch((error: unknown) => {
    // Closing the queue while the worker starts rejects with nothing to say: not news.
    const closing = (queue as unknown as { closing?: Promise<void> }).closing;
    const message = `${queue.name} worker stopped: ${reasonOf(error)}`;
    if (closing) logger.debug(message);
    else logger.warn(message);
  });
}

function reasonOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : 'the queue closed';
}
