import { request, type IncomingMessage } from 'node:http';

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * Reads a Server-Sent Events stream over raw HTTP and parses it as a browser would
 * (per the WHATWG algorithm: `data:` lines joined with \n, comments kept apart).
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  raw = '';
  status = 0;
  headers: IncomingMessage['headers'] = {};
  ended = false;
  private res: IncomingMessage | null = null;
  private req: ReturnType<typeof request> | null = null;
  private buffer = '';
  private readonly waiters = new Set<() => void>();
  private closedResolve!: () => void;
  readonly closed = new Promise<void>((resolve) => (this.closedResolve = resolve));

  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = new SseClient();
    return new Promise((resolve, reject) => {
      client.req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        client.res = res;
        client.status = res.statusCode ?? 0;
        client.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => client.feed(chunk));
        res.on('end', () => client.finish());
        res.on('close', () => client.finish());
        res.on('error', () => client.finish());
        resolve(client);
      });
      client.req.on('error', (error) => {
        client.finish();
        reject(error);
      });
      client.req.end();
    });
  }

  /** Line events (default type `message`). */
  get messages(): SseEvent[] {
    return this.events.filter((e) => e.event === 'message');
  }

  get lines(): string[] {
    return this.messages.map((e) => e.data);
  }

  /** Waits until an event matching `predicate` has arrived; fails if the stream closes first. */
  until(predicate: (event: SseEvent) => boolean, timeoutMs = 10_000): Promise<SseEvent> {
    return new Promise<SseEvent>((resolve, reject) => {
      const check = () => {
        const found = this.events.find(predicate);
        if (found) settle(() => resolve(found));
        else if (this.ended)
          settle(() =>
            reject(
              new Error(
                `stream closed without the expected event; got ${JSON.stringify(this.events)}`,
              ),
            ),
          );
      };
      const timer = setTimeout(
        () =>
          settle(() =>
            reject(
              new Error(`timed out waiting for an SSE event; got ${JSON.stringify(this.events)}`),
            ),
          ),
        timeoutMs,
      );
      const settle = (done: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        done();
      };
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    this.req?.destroy();
    this.res?.destroy();
  }

  private finish(): void {
    this.ended = true;
    this.closedResolve();
    this.notify();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private feed(chunk: string): void {
    this.raw += chunk;
    this.buffer += chunk;
    let boundary: number;
    while ((boundary = this.buffer.search(/\r\n\r\n|\n\n|\r\r/)) !== -1) {
      const block = this.buffer.slice(0, boundary);
      this.buffer = this.buffer.slice(
        boundary + (this.buffer.startsWith('\r\n', boundary) ? 4 : 2),
      );
      this.parseBlock(block);
    }
  }

  private parseBlock(block: string): void {
    const data: string[] = [];
    let event = 'message';
    let id: string | undefined;
    let hasField = false;
    for (const line of block.split(/\r\n|\n|\r/)) {
      if (line === '') continue;
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      hasField = true;
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
      else if (field === 'id') id = value;
    }
    if (hasField && (data.length || event !== 'message')) {
      this.events.push({ id, event, data: data.join('\n') });
      this.notify();
    }
  }
}

/** Opens a stream (GET with `Accept: text/event-stream`). */
export const openSse = (url: string, headers: Record<string, string> = {}) =>
  SseClient.open(url, headers);
