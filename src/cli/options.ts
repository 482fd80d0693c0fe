/** Option parsers shared by several commands (commander calls them with the raw string). */
import { UsageError } from '../util/usage-error.js';

/** A parser for an option that must be a whole number of at least 1, e.g. `--limit`. */
export function positiveInt(name: string): (v: string) => number {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got "${v}"`);
    return n;
  };
}
