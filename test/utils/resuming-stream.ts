import { SseClient, type SseEvent } from './sse-client.js';

/**
 * A log stream read the way a browser page keeps one: on any close it reconnects (to the next of
 * `urls`, e.g. another API process behind a load balancer) with the Last-Event-ID it kept — set by
 * every event that carries an id, as EventSource does — until it receives `end` or a 204. Unlike a
 * bare EventSource it also retries after a non-200 answer (a 503 while a dependency is down), as a
 * page's own retry would.
 */
export class ResumingStream {
  /** Line events received over every connection, in arrival order. */
  readonly messages: SseEvent[] = [];
  /** Status of each connection attempt (0: refused). */
  readonly statuses: number[] = [];
  lastEventId: string | undefined;
  ended = false;
  readonly done: Promise<void>;
  private stopped = false;
  private current: SseClient | null = null;

  constructor(
    private readonly urls: string[],
    private readonly headers: Record<string, string>,
    private readonly retryMs = 50,
  ) {
    this.done = this.run();
  }

  /** Stops reconnecting and closes the current connection. */
  stop(): Promise<void> {
    this.stopped = true;
    this.current?.close();
    return this.done;
  }

  private async run(): Promise<void> {
    for (let attempt = 0; !this.stopped && !this.ended; attempt++) {
      const url = this.urls[attempt % this.urls.length];
      const headers =
        this.lastEventId === undefined
          ? this.headers
          : { ...this.headers, 'last-event-id': this.lastEventId };
      try {
        const client = await SseClient.open(url, headers);
        this.current = client;
        this.statuses.push(client.status);
        await client.closed;
        if (client.status === 204) this.ended = true;
        if (client.status === 200) {
          for (const event of client.events) {
            if (event.id !== undefined) this.lastEventId = event.id;
            if (event.event === 'message') this.messages.push(event);
            if (event.event === 'end') this.ended = true;
          }
        }
      } catch {
        this.statuses.push(0);
      }
      // The client's reconnection delay (an EventSource waits ~3 s; shortened for the test).
      if (!this.ended && !this.stopped)
        await new Promise((resolve) => setTimeout(resolve, this.retryMs));
    }
  }
}
