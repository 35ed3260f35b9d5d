import { describe, expect, it } from 'vitest';
import { dayStart, formatUsd, monthStart, nextMonthStart, toUsd } from './spend.money.js';

describe('spend money helpers', () => {
  it('turns micro-dollars into exact USD numbers and readable amounts', () => {
    expect(toUsd(3 * 35_000)).toBe(0.105);
    expect(formatUsd(3 * 35_000)).toBe('$0.105');
    expect(formatUsd(10_000_000)).toBe('$10.00');
    expect(formatUsd(50_000)).toBe('$0.05');
    expect(formatUsd(0)).toBe('$0.00');
  });

  it('renews on the first of next month, 00:00 UTC, also across a year end', () => {
    const lateDecember = new Date('2026-12-31T23:59:59.999Z');
    expect(monthStart(lateDecember).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(nextMonthStart(lateDecember).toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(dayStart(lateDecember).toISOString()).toBe('2026-12-31T00:00:00.000Z');
  });
});
