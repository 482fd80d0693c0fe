/**
 * E-Divisive means (Matteson & James 2014) inside one window, as Apache Otava's
 * `ChangePointDetector` with `PairDistanceCalculator` (power 1) runs it: repeatedly find the split
 * that maximizes the energy statistic Q̂ over all current intervals, keep it while a t-test on its
 * two sides is significant, stop at the first one that is not.
 */

import { SegmentStats } from './segment-stats.js';

/** A split of a series: `index` is the first point of the new regime. */
export interface Split {
  index: number;
  qhat: number;
}

/**
 * Pairwise-distance sums for one window (of the split step's fixed length; longer stretches use
 * energy-profile.ts): within(a, b) = Σ_{a≤i<k<b} |z_i − z_k|, computed in
 * O(L²) with W[a][b] = W[a+1][b] + Σ_{a<k<b} |z_a − z_k| so each Q̂ costs O(1).
 */
export class EnergyCalculator {
  private readonly n: number;
  private readonly w: Float64Array;

  constructor(z: readonly number[]) {
    const n = z.length;
    this.n = n;
    this.w = new Float64Array((n + 1) * (n + 1));
    for (let a = n - 1; a >= 0; a--) {
      let row = 0;
      const za = z[a]!;
      for (let b = a + 1; b <= n; b++) {
        if (b - 1 > a) row += Math.abs(za - z[b - 1]!);
        this.w[a * (n + 1) + b] = this.w[(a + 1) * (n + 1) + b]! + row;
      }
    }
  }

  private within(a: number, b: number): number {
    return this.w[a * (this.n + 1) + b]!;
  }

  /** Q̂ of X = z[s, τ) against Y = z[τ, κ). */
  qhat(s: number, tau: number, kappa: number): number {
    const n = tau - s;
    const m = kappa - tau;
    const wx = this.within(s, tau);
    const wy = this.within(tau, kappa);
    const cross = this.within(s, kappa) - wx - wy;
    let q = (2 / (m + n)) * cross;
    if (n > 1) q -= ((2 * m) / ((m + n) * (n - 1))) * wx;
    if (m > 1) q -= ((2 * n) / ((m + n) * (m - 1))) * wy;
    return q;
  }

  /** Best split of [start, stop): maximizes Q̂ over start < τ < κ ≤ stop (Otava's search space). */
  bestSplit(start: number, stop: number): Split | undefined {
    if (stop - start < 2) return undefined;
    let best: Split | undefined;
    for (let tau = start + 1; tau < stop; tau++) {
      for (let kappa = tau + 1; kappa <= stop; kappa++) {
        const q = this.qhat(start, tau, kappa);
        if (!best || q > best.qhat) best = { index: tau, qhat: q };
      }
    }
    return best;
  }
}

/** Interval boundaries [0, c1, c2, …, n] for sorted change-point indexes. */
function boundaries(indexes: readonly number[], n: number): number[] {
  return [0, ...indexes, n];
}

/**
 * Change points of z[start, end) found by E-Divisive with a t-test significance check at
 * `maxPValue`; indexes are absolute (into z), sorted.
 */
export function eDivisiveWindow(
  z: readonly number[],
  start: number,
  end: number,
  maxPValue: number,
): number[] {
  const window = z.slice(start, end);
  const calc = new EnergyCalculator(window);
  const stats = new SegmentStats(window);
  const found: number[] = [];
  for (;;) {
    const bounds = boundaries(found, window.length);
    let best: { split: Split; from: number; to: number } | undefined;
    for (let i = 0; i + 1 < bounds.length; i++) {
      const from = bounds[i]!;
      const to = bounds[i + 1]!;
      const split = calc.bestSplit(from, to);
      if (split && (!best || split.qhat > best.split.qhat)) best = { split, from, to };
    }
    if (!best) break;
    if (stats.compare(best.from, best.split.index, best.to).pValue > maxPValue) break;
    found.push(best.split.index);
    found.sort((a, b) => a - b);
  }
  return found.map((i) => i + start);
}
