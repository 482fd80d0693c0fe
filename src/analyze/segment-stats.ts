/**
 * Means, standard deviations and t-tests of any stretch of one series in O(1) after an O(n) pass:
 * prefix sums of the values and their squares (taken around the series' first value, so durations
 * in the millions of ms keep their precision when the variance is small).
 */
import { tTestFromStats } from './student-t.js';

/** Statistics of the two sides of a change point. */
export interface SideStats {
  meanBefore: number;
  meanAfter: number;
  stdBefore: number;
  stdAfter: number;
  t: number;
  pValue: number;
}

/** Prefix sums of one series. */
export class SegmentStats {
  private readonly s1: Float64Array;
  private readonly s2: Float64Array;
  private readonly origin: number;
  readonly length: number;

  constructor(z: ArrayLike<number>) {
    const n = z.length;
    this.length = n;
    this.origin = n ? z[0]! : 0;
    this.s1 = new Float64Array(n + 1);
    this.s2 = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      const d = z[i]! - this.origin;
      this.s1[i + 1] = this.s1[i]! + d;
      this.s2[i + 1] = this.s2[i]! + d * d;
    }
  }

  /** Mean of z[a, b); NaN when empty. */
  mean(a: number, b: number): number {
    if (b <= a) return Number.NaN;
    return this.origin + (this.s1[b]! - this.s1[a]!) / (b - a);
  }

  /** Sample standard deviation of z[a, b) (n − 1 denominator); 0 below two points. */
  std(a: number, b: number): number {
    const n = b - a;
    if (n < 2) return 0;
    const sum = this.s1[b]! - this.s1[a]!;
    const ss = this.s2[b]! - this.s2[a]! - (sum * sum) / n;
    return Math.sqrt(Math.max(0, ss / (n - 1)));
  }

  /** Student's t-test of z[from, at) against z[at, to). */
  compare(from: number, at: number, to: number): SideStats {
    return this.compareApart(from, at, at, to);
  }

  /** Student's t-test of z[from, end) against z[start, to) (two stretches with a gap between). */
  compareApart(from: number, end: number, start: number, to: number): SideStats {
    const meanBefore = this.mean(from, end);
    const meanAfter = this.mean(start, to);
    const stdBefore = this.std(from, end);
    const stdAfter = this.std(start, to);
    const test = tTestFromStats(meanBefore, stdBefore, end - from, meanAfter, stdAfter, to - start);
    return { meanBefore, meanAfter, stdBefore, stdAfter, t: test.t, pValue: test.p };
  }
}
