/** Money is integer micro-dollars inside the service; USD numbers only at the edge. */
export const MICROS_PER_USD = 1_000_000;

/** Micro-dollars as a USD number (exact to the micro-dollar: 105000 → 0.105). */
export function toUsd(micros: number): number {
  return Math.round(micros) / MICROS_PER_USD;
}

/** `$0.105`, `$10.00`: cents always, more digits only when they matter. */
export function formatUsd(micros: number): string {
  const usd = toUsd(micros);
  const cents = usd.toFixed(2);
  return `$${Number(cents) === usd ? cents : String(usd)}`;
}

/** The first instant of the month (UTC) that holds `now`. */
export function monthStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

/** When a monthly budget renews: the first of next month, 00:00 UTC. */
export function nextMonthStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
}

/** Midnight UTC of `now`'s day. */
export function dayStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}
