import { describe, expect, it } from 'vitest';
import { parseLineEffects, storableLine } from './log-line.parser.js';

describe('parseLineEffects', () => {
  it('takes the last Progress: N% of the batch', () => {
    const effects = parseLineEffects([
      '[INFO] Progress: 20% - 1/5',
      '[INFO] noise',
      '[INFO] Progress: 40% - 2/5',
    ]);
    expect(effects.progress).toBe(40);
    expect(effects.summaries).toEqual([]);
  });

  it('clamps progress and ignores lines without a percentage', () => {
    expect(parseLineEffects(['Progress: 250%']).progress).toBe(100);
    expect(parseLineEffects(['Progress: soon']).progress).toBeNull();
  });

  it('parses [SUMMARY] JSON and collects its domains', () => {
    const effects = parseLineEffects([
      '[SUMMARY] {"status":"success","domains":["a.com","b.com"]}',
      '[SUMMARY] not json',
    ]);
    expect(effects.summaries).toEqual([
      { status: 'success', domains: ['a.com', 'b.com'] },
      { raw: 'not json' },
    ]);
    expect(effects.domains).toEqual(['a.com', 'b.com']);
  });

  it('does not treat a line that merely mentions [SUMMARY] later on as a summary', () => {
    expect(parseLineEffects(['[INFO] will send [SUMMARY] soon']).summaries).toEqual([]);
  });
});

describe('storableLine', () => {
  it('replaces NUL and lone surrogates with U+FFFD and leaves other text alone', () => {
    expect(storableLine('a\u0000b\u0000')).toBe('a\uFFFDb\uFFFD');
    expect(storableLine('x\uD800y\uDC00')).toBe('x\uFFFDy\uFFFD');
    const plain = '[INFO] café 😀 \u2028';
    expect(storableLine(plain)).toBe(plain);
  });
});
