/** The one quantile: shared by predictions (plan/), right-sizing and reports (analyze/). */

/**
 * The q-quantile (0..1, clamped) with linear interpolation between closest ranks (the "R-7" rule
 * that numpy and spreadsheets use by default). NaN for an empty array: no samples is no answer,
 * and a plausible 0 would pass for one; callers that need a default check the length first.
 */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}
