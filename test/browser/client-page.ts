import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What a web frontend on another origin does with the API, as plain browser JavaScript:
 * `fetch` with a bearer token (so every non-simple request is preflighted) and
 * `EventSource` with `?access_token=` (it cannot set headers). It also renders what it
 * receives, so a failure screenshot shows the page's state. The tests drive it through
 * `window.gm`.
 */
const CLIENT_JS = String.raw`
const logList = document.getElementById('log');
const statusLine = document.getElementById('status');
const show = (text) => { statusLine.textContent = text; };

window.gm = {
  base: '',
  watchers: [],

  /** A JSON request as a frontend makes it; a blocked request (CORS) answers status 0 and the error. */
  async api(method, path, { body, token } = {}) {
    const headers = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = 'Bearer ' + token;
    try {
      const res = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      const json = (res.headers.get('content-type') || '').includes('json') && text;
      show(method + ' ' + path + ' → ' + res.status);
      return { status: res.status, body: json ? JSON.parse(text) : text };
    } catch (error) {
      show(method + ' ' + path + ' → blocked: ' + error);
      return { status: 0, error: String(error) };
    }
  },

  /**
   * Opens an EventSource on path and records everything it sees: unnamed events as lines, and
   * the named event types listed (e.g. the scraper's status / progress / batch) in order.
   * Answers its index.
   */
  watch(path, types = []) {
    const w = { lines: [], named: [], ends: [], errors: [], opens: 0, es: new EventSource(this.base + path) };
    for (const type of types)
      w.es.addEventListener(type, (e) => w.named.push({ type, id: e.lastEventId, data: e.data }));
    w.es.onopen = () => { w.opens++; show('stream open (' + w.opens + ')'); };
    w.es.onmessage = (e) => {
      w.lines.push({ id: e.lastEventId, data: e.data });
      const item = document.createElement('li');
      item.textContent = e.lastEventId + ' ' + e.data;
      logList.append(item);
    };
    w.es.addEventListener('end', (e) => {
      w.ends.push({ id: e.lastEventId, data: e.data });
      show('end ' + e.data);
    });
    w.es.onerror = () => {
      w.errors.push(w.es.readyState);
      show('stream error, readyState ' + w.es.readyState);
    };
    this.watchers.push(w);
    return this.watchers.length - 1;
  },

  state(index) {
    const w = this.watchers[index];
    return { lines: w.lines, named: w.named, ends: w.ends, errors: w.errors, opens: w.opens, readyState: w.es.readyState };
  },

  close(index) {
    this.watchers[index].es.close();
  },

  closeAll() {
    for (const w of this.watchers) w.es.close();
  },
};
`;

const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>GM frontend (test client)</title></head>
<body><h1>GM frontend</h1><p id="status">ready</p><ol id="log"></ol>
<script src="/client.js"></script></body></html>`;

/** Serves the client page from its own port: a different origin from the API. */
export class ClientPage {
  private server: Server | null = null;
  origin = '';

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE_HTML);
      } else if (path === '/client.js') {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(CLIENT_JS);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.origin;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
