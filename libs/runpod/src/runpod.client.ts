/**
 * RunPod client for the two ways the backend reaches a domain-generation worker:
 * - `pod`: POST `${url}/process` with the body; the pod answers at once or when done,
 *   `{"status": "success", "domains": [...]}`.
 * - `serverless`: RunPod's API, POST `${apiBase}/${endpointId}/run` with `{"input": body}` and a
 *   Bearer key, answered `{"id": run_id, "status": "IN_QUEUE"}`; cancel with `.../cancel/{run_id}`.
 * Every call has a timeout. Errors say whether trying again may help (`retryable`).
 */
export interface RunpodClientOptions {
  mode: 'pod' | 'serverless';
  url: string;
  apiBase: string;
  endpointId?: string;
  apiKey?: string;
  timeoutMs: number;
}

/** What the backend sends for one keyword (the contract's body). */
export interface RunpodJobInput {
  data: string;
  num_domains: number;
  job_id: string;
}

export interface RunpodDispatchResult {
  /** Serverless run id (cancel needs it); null in pod mode. */
  runId: string | null;
  /** Domains a pod returned in its final answer, if any. */
  domains: string[];
  status: string | null;
}

/** Low-cardinality cause of a failed RunPod call (a metrics label, and said in logs). */
export type RunpodErrorKind =
  'timeout' | 'unreachable' | 'server_error' | 'rate_limited' | 'rejected' | 'bad_answer';

export class RunpodError extends Error {
  readonly kind: RunpodErrorKind;

  constructor(
    message: string,
    /** HTTP status RunPod answered, if it answered. */
    readonly status: number | null,
    /** Unreachable, timed out or 5xx/429: another attempt may succeed. A 4xx will not. */
    readonly retryable: boolean,
    timedOut = false,
  ) {
    super(message);
    this.name = 'RunpodError';
    this.kind =
      status === null
        ? timedOut
          ? 'timeout'
          : 'unreachable'
        : status >= 500
          ? 'server_error'
          : status === 429
            ? 'rate_limited'
            : status >= 400
              ? 'rejected'
              : 'bad_answer';
  }
}

export class RunpodClient {
  constructor(private readonly options: RunpodClientOptions) {}

  get mode() {
    return this.options.mode;
  }

  async dispatch(input: RunpodJobInput, signal?: AbortSignal): Promise<RunpodDispatchResult> {
    if (this.options.mode === 'pod') {
      const body = await this.post(`${this.options.url}/process`, input, {}, signal);
      return {
        runId: null,
        domains: stringArray(body?.domains),
        status: stringOrNull(body?.status),
      };
    }
    const body = await this.post(this.serverlessUrl('run'), { input }, this.bearer(), signal);
    const runId = stringOrNull(body?.id);
    if (!runId) throw new RunpodError('RunPod /run answered without a run id', 200, true);
    return { runId, domains: [], status: stringOrNull(body?.status) };
  }

  /** Serverless only: asks RunPod to stop a run. Pod mode has no cancel API (no-op). */
  async cancel(runId: string): Promise<void> {
    if (this.options.mode !== 'serverless') return;
    await this.post(
      this.serverlessUrl(`cancel/${encodeURIComponent(runId)}`),
      undefined,
      this.bearer(),
    );
  }

  private serverlessUrl(path: string): string {
    return `${this.options.apiBase}/${encodeURIComponent(this.options.endpointId ?? '')}/${path}`;
  }

  private bearer(): Record<string, string> {
    return { authorization: `Bearer ${this.options.apiKey ?? ''}` };
  }

  private async post(
    url: string,
    body: unknown,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Record<string, unknown> | null> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      const timedOut = timeout.aborted;
      const cause =
        (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new RunpodError(
        timedOut
          ? `RunPod did not answer within ${this.options.timeoutMs} ms (${url})`
          : `RunPod unreachable (${url}): ${cause}`,
        null,
        true,
        timedOut,
      );
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) {
      const retryable =
        response.status >= 500 || response.status === 429 || response.status === 408;
      throw new RunpodError(
        `RunPod answered ${response.status} ${response.statusText}${text ? `: ${text.slice(0, 300)}` : ''}`,
        response.status,
        retryable,
      );
    }
    if (!text) return null;
    try {
      const parsed: unknown = JSON.parse(text);
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : null;
    } catch {
      return null; // a pod that answers plain text still accepted the work
    }
  }
}

const stringOrNull = (value: unknown) => (typeof value === 'string' ? value : null);
const stringArray = (value: unknown) =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
