// autocannon ships no types and @types/autocannon lags it (no `requests`, no `2xx`):
// this declares the part the benchmarks use.
declare module 'autocannon' {
  interface Histogram {
    average: number;
    mean: number;
    p50: number;
    p90: number;
    p97_5: number;
    p99: number;
    max: number;
    total: number;
  }
  interface Result {
    latency: Histogram;
    requests: Histogram;
    throughput: Histogram;
    statusCodeStats: Record<string, { count: number }>;
    non2xx: number;
    '2xx': number;
    errors: number;
    timeouts: number;
    duration: number;
  }
  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    amount?: number;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    /** Rewrites each request before it is sent (autocannon's `requests[].setupRequest`). */
    requests?: Array<{ setupRequest: (request: { body?: string }) => { body?: string } }>;
    [option: string]: unknown;
  }
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}
