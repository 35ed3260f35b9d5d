export interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

export interface SseStream {
  status: number;
  headers: Headers;
  /** Every event received so far. */
  events: SseEvent[];
  /** Resolves when the server closes the stream. */
  closed: Promise<void>;
  /** Waits until an event matching `predicate` has arrived. */
  until(predicate: (event: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  close(): void;
}

/** Reads a real text/event-stream response (raw fetch), parsing events as a browser would. */
export async function openSse(
  url: string,
  headers: Record<string, string> = {},
): Promise<SseStream> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  let done = false;
  const closed = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let index: number;
        while ((index = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const block = buffer.slice(0, index);
          buffer = buffer.slice(index).replace(/^\r?\n\r?\n/, '');
          const event: SseEvent = { event: 'message', data: '' };
          const data: string[] = [];
          for (const line of block.split(/\r?\n/)) {
            if (!line || line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') event.event = value;
            else if (field === 'id') event.id = value;
            else if (field === 'data') data.push(value);
          }
          if (!data.length) continue;
          event.data = data.join('\n');
          events.push(event);
          notify();
        }
      }
    } catch {
      // aborted by close()
    } finally {
      done = true;
      notify();
    }
  })();
  return {
    status: response.status,
    headers: response.headers,
    events,
    closed,
    close: () => controller.abort(),
    until(predicate, timeoutMs = 10_000) {
      return new Promise<SseEvent>((resolve, reject) => {
        const check = () => {
          const found = events.find(predicate);
          if (found) {
            cleanup();
            resolve(found);
          } else if (done) {
            cleanup();
            reject(
              new Error(`stream closed without the expected event; got ${JSON.stringify(events)}`),
            );
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for an SSE event; got ${JSON.stringify(events)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
