/**
 * The one row shape every bench module returns, so `npm run bench` prints a single table.
 * A module exports `async function benchX(options: BenchOptions): Promise<BenchRow[]>`.
 */

export interface BenchRow {
  /** The module: scheduler, cache, analytics, deploy. */
  suite: string;
  /** What was measured, e.g. "chain c=4". */
  case: string;
  /** The figure's name, e.g. "slipway/turbo". */
  metric: string;
  value: number;
  /** ms, s, x, %, MB/s … */
  unit?: string;
  /** Human-readable target, e.g. "<= 1.10". */
  target?: string;
  /** Whether the value meets the target; undefined when there is none. */
  pass?: boolean;
  note?: string;
}

export interface BenchOptions {
  /** Repository root (where bin/slipway.js lives). */
  root: string;
  /** Print progress lines here (stderr by default). */
  log: (line: string) => void;
  /** Smaller, faster cases (for a smoke run); figures are then not the published ones. */
  quick: boolean;
}

/** Formats a value with a precision suited to its unit. */
export function formatValue(value: number, unit?: string): string {
  if (!Number.isFinite(value)) return String(value);
  if (unit === 'ms') return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
  if (unit === 'x') return value.toFixed(2);
  if (Math.abs(value) >= 100) return `${Math.round(value)}${unit ? ` ${unit}` : ''}`;
  return `${value.toFixed(2)}${unit ? ` ${unit}` : ''}`;
}
