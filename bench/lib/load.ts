/**
 * One load client for every benchmark: wrk (Debian's package) when it is installed — it leaves
 * more of a 2-core machine to the server than autocannon — else autocannon. Both are driven
 * with one thread/worker and report the same numbers.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** The body; every `{{n}}` becomes a per-request counter (unique lines for durability counts). */
  body?: string;
  connections: number;
  durationSeconds: number;
}

export interface LoadResult {
  client: 'wrk' | 'autocannon';
  requests: number;
  /** Requests per second over the run. */
  rate: number;
  /** Responses with a status ≥ 400 (wrk counts them so; autocannon's non2xx). */
  non2xx: number;
  /** Connection errors and timeouts. */
  socketErrors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const run = promisify(execFile);
export const wrkAvailable = (): boolean => spawnSync('wrk', ['-v']).error === undefined;
export const loadClient = (): LoadResult['client'] => (wrkAvailable() ? 'wrk' : 'autocannon');

/** A double-quoted Lua string literal (bodies and headers here are ASCII). */
const lua = (text: string) => JSON.stringify(text);

function wrkScript(spec: LoadSpec): string {
  const [prefix, ...rest] = (spec.body ?? '').split('{{n}}');
  const lines = [`wrk.method = ${lua(spec.method ?? 'GET')}`];
  for (const [name, value] of Object.entries(spec.headers ?? {}))
    lines.push(`wrk.headers[${lua(name)}] = ${lua(value)}`);
  if (spec.body !== undefined && rest.length === 0) lines.push(`wrk.body = ${lua(spec.body)}`);
  if (rest.length > 0) {
    // Only a templated body needs a request() function; wrk otherwise reuses one prepared request.
    lines.push(
      'local n = 0',
      `local parts = { ${[prefix, ...rest].map(lua).join(', ')} }`,
      'request = function()',
      '  n = n + 1',
      '  return wrk.format(nil, nil, nil, table.concat(parts, tostring(n)))',
      'end',
    );
  }
  lines.push(
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format("WRK_JSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"socket\\":%d,\\"status\\":%d,\\"p50\\":%d,\\"p99\\":%d,\\"max\\":%d}\\n",',
    '    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,',
    '    latency:percentile(50), latency:percentile(99), latency.max))',
    'end',
  );
  return lines.join('\n');
}

async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-wrk-'));
  try {
    const script = join(dir, 'load.lua');
    writeFileSync(script, wrkScript(spec));
    const { stdout } = await run(
      'wrk',
      [
        '-t1',
        `-c${spec.connections}`,
        `-d${spec.durationSeconds}s`,
        '--timeout',
        '10s',
        '-s',
        script,
        spec.url,
      ],
      { maxBuffer: 1 << 20 },
    );
    const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
    if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
    const s = JSON.parse(line.slice('WRK_JSON '.length)) as Record<string, number>;
    return {
      client: 'wrk',
      requests: s.requests,
      rate: s.requests / (s.duration_us / 1e6),
      non2xx: s.status,
      socketErrors: s.socket,
      p50Ms: s.p50 / 1000,
      p99Ms: s.p99 / 1000,
      maxMs: s.max / 1000,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  let n = 0;
  const templated = spec.body?.includes('{{n}}');
  const result = await autocannon({
    url: spec.url,
    method: spec.method ?? 'GET',
    connections: spec.connections,
    duration: spec.durationSeconds,
    headers: spec.headers,
    body: templated ? undefined : spec.body,
    requests: templated
      ? [{ setupRequest: (req) => ({ ...req, body: spec.body!.replaceAll('{{n}}', String(++n)) }) }]
      : undefined,
  });
  const requests = result['2xx'] + result.non2xx;
  return {
    client: 'autocannon',
    requests,
    rate: requests / result.duration,
    non2xx: result.non2xx,
    socketErrors: result.errors + result.timeouts,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
  };
}

/** Drives `spec` with wrk when present, else autocannon. */
export function load(spec: LoadSpec): Promise<LoadResult> {
  return wrkAvailable() ? runWrk(spec) : runAutocannon(spec);
}
