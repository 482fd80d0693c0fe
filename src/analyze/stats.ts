/** Small descriptive statistics over plain number arrays (no dependency: this is our product). */
import { quantile } from '../util/quantile.js';

/** Arithmetic mean; NaN for an empty array. */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample variance (n - 1 denominator); 0 for fewer than two values. */
function variance(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return s / (xs.length - 1);
}

/** Sample standard deviation. */
export function stddev(xs: readonly number[]): number {
  return Math.sqrt(variance(xs));
}

/** Median (the 0.5 quantile). */
export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/** p50/p90/p95/max summary used by reports. */
export interface Summary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  max: number;
}

/** Summary of a sample; all fields NaN (count 0) when empty. */
export function summarize(xs: readonly number[]): Summary {
  return {
    count: xs.length,
    mean: mean(xs),
    p50: quantile(xs, 0.5),
    p90: quantile(xs, 0.9),
    p95: quantile(xs, 0.95),
    max: xs.length ? Math.max(...xs) : Number.NaN,
  };
}
