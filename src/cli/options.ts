/** Option parsers shared by several commands (commander calls them with the raw string). */
import { parseDuration } from '../util/units.js';
import { UsageError } from '../util/usage-error.js';

/** A parser for an option that must be a whole number of at least 1, e.g. `--limit`. */
export function positiveInt(name: string): (v: string) => number {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got "${v}"`);
    return n;
  };
}

/** "2026-11-01", an ISO time, or a duration ago ("7d", "12h"); epoch ms. */
export function parseSince(v: string, now = Date.now()): number {
  const ago = parseDuration(v);
  if (ago !== undefined && /[a-z]$/.test(v.trim())) return now - ago;
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new UsageError(
      `bad --since "${v}"`,
      'write a date such as 2026-11-01, an ISO time, or a duration ago such as 7d',
    );
  return t;
}
