/**
 * A provider call that failed. `retryable` says whether trying again can help: a server
 * error, a timeout or a rate limit can; a wrong API key or an invalid request cannot, so
 * the job fails at once instead of burning its attempts.
 */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

/**
 * The provider cannot serve now — unreachable, timed out, 5xx, rate-limited or out of quota
 * (Google's 429 RESOURCE_EXHAUSTED), a scraper run that failed — so another provider may:
 * every retryable failure. A rejected key or request is not: the same request would fail anywhere.
 */
export function isProviderUnavailable(error: unknown): error is ProviderError {
  return error instanceof ProviderError && error.retryable;
}

/** Classifies a failed `fetch` (network error, timeout, abort) as retryable. */
export function networkError(provider: string, error: unknown, timeoutMs: number): ProviderError {
  const err = error as {
    name?: string;
    message?: string;
    cause?: { code?: string; message?: string };
  };
  if (err?.name === 'TimeoutError') {
    return new ProviderError(`${provider} did not answer within ${timeoutMs} ms`, true);
  }
  if (err?.name === 'AbortError') {
    return new ProviderError(`${provider} request aborted`, true);
  }
  const detail = err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(error);
  return new ProviderError(`${provider} is unreachable: ${detail}`, true);
}

/** A signal that fires on the caller's abort or after `timeoutMs`, whichever is first. */
export function withTimeout(timeoutMs: number, signal?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}
