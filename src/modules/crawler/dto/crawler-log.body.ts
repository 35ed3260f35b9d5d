import { MAX_LINE_LENGTH, MAX_LINES_PER_REQUEST } from '../crawler.constants.js';

const BODY_KEYS = new Set(['job_id', 'message', 'messages']);
/** Job ids RunPod sends are UUIDs: printable ASCII keeps `.length` equal to class-validator's length. */
const PLAIN_JOB_ID = /^[\x20-\x7e]{1,100}$/;

const isLine = (line: unknown): line is string =>
  typeof line === 'string' && line.length <= MAX_LINE_LENGTH;

/**
 * The webhook body, accepted without class-validator when it is plainly valid: a JSON object
 * with only `job_id` (1–100 printable ASCII characters) and exactly one of `message` (a line) or
 * `messages` (1–500 lines), each line at most MAX_LINE_LENGTH UTF-16 units (class-validator
 * counts a surrogate pair as one, so it accepts all of these). Anything else returns `undefined`
 * and class-validator answers it, with its full 422 list.
 *
 * Hot path: one key scan and a type check per field; never add I/O or allocation per line here.
 */
export function acceptValidCrawlerLogBody<T extends object>(
  body: unknown,
  create: () => T,
): T | undefined {
  if (typeof body !== 'object' || body === null || Object.getPrototypeOf(body) !== Object.prototype)
    return undefined;
  for (const key in body) if (!BODY_KEYS.has(key)) return undefined;
  const { job_id, message, messages } = body as Record<string, unknown>;
  if (typeof job_id !== 'string' || !PLAIN_JOB_ID.test(job_id)) return undefined;
  if (messages === undefined) {
    if (!isLine(message)) return undefined;
  } else if (
    message !== undefined ||
    !Array.isArray(messages) ||
    messages.length < 1 ||
    messages.length > MAX_LINES_PER_REQUEST ||
    !messages.every(isLine)
  ) {
    return undefined;
  }
  return Object.assign(create(), body);
}
