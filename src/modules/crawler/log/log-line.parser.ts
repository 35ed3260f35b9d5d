/**
 * What a batch of log lines means for its job: the last `Progress: N%` and every
 * `[SUMMARY] {json}`. Cheap on purpose: most lines are rejected by one indexOf.
 */
export interface LineEffects {
  /** Last `Progress: N%` of the batch, clamped to 0–100; null when none. */
  progress: number | null;
  /** Parsed `[SUMMARY]` payloads, in order (a payload that is not JSON is kept as `{raw}`). */
  summaries: unknown[];
  /** Domains listed in those summaries (`domains: string[]`). */
  domains: string[];
}

const PROGRESS = /Progress:\s*(\d{1,3}(?:\.\d+)?)\s*%/;
const SUMMARY_TAG = '[SUMMARY]';

export function parseLineEffects(lines: readonly string[]): LineEffects {
  let progress: number | null = null;
  let summaries: unknown[] | null = null;
  let domains: string[] | null = null;
  for (const line of lines) {
    if (line.includes('Progress:')) {
      const match = PROGRESS.exec(line);
      if (match) progress = Math.min(100, Math.max(0, Math.round(Number(match[1]))));
    }
    const tag = line.indexOf(SUMMARY_TAG);
    if (tag !== -1 && line.slice(0, tag).trim() === '') {
      const summary = parseSummary(line.slice(tag + SUMMARY_TAG.length));
      (summaries ??= []).push(summary);
      const listed = (summary as { domains?: unknown }).domains;
      if (Array.isArray(listed)) {
        for (const domain of listed) if (typeof domain === 'string') (domains ??= []).push(domain);
      }
    }
  }
  return { progress, summaries: summaries ?? [], domains: domains ?? [] };
}

function parseSummary(text: string): unknown {
  const trimmed = text.trim();
  try {
    const value: unknown = JSON.parse(trimmed);
    if (value !== null && typeof value === 'object') return value;
    return { raw: trimmed };
  } catch {
    return { raw: trimmed };
  }
}

/** ES2024 String methods (Node ≥ 20), not in the ES2023 lib this project compiles against. */
type WellFormedString = { isWellFormed(): boolean; toWellFormed(): string };

/**
 * The line as it can be stored: NUL (which PostgreSQL text and jsonb cannot hold) and lone UTF-16
 * surrogates (which jsonb rejects and UTF-8 cannot encode) become U+FFFD. Two native scans of the
 * line; a line that needs neither is returned as is.
 */
export function storableLine(line: string): string {
  const clean = line.includes('\u0000') ? line.replaceAll('\u0000', '\uFFFD') : line;
  const wellFormed = clean as unknown as WellFormedString;
  return wellFormed.isWellFormed() ? clean : wellFormed.toWellFormed();
}
