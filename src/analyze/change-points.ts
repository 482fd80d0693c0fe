/**
 * Change-point detection on a performance series as Apache Otava (formerly Hunter) does it
 * ("Hunter: Using Change Point Detection to Hunt for Performance Regressions", Fleming et al.,
 * ICPE 2023): a split step runs E-Divisive in sliding windows with a relaxed p-value to collect
 * weak change points, and a merge step removes the weakest (highest p-value, then smallest
 * magnitude) until every survivor is significant and large enough. Slipway's additions — a
 * minimum regime, bursts that return to their level, the magnitude floor judged with its
 * uncertainty, re-location over the stretch between neighbours — are described where they act.
 * The whole method is O(n log n) in time and O(n) in memory: windows are of fixed length,
 * statistics come from prefix sums and re-location from energy-profile.ts.
 */
import { eDivisiveWindow } from './e-divisive.js';
import { energyProfile } from './energy-profile.js';
import { SegmentStats, type SideStats } from './segment-stats.js';

export interface ChangePointOptions {
  /** Sliding window length (Otava's default 50). */
  windowLength?: number;
  /** Significance threshold of the final change points (default 0.001). */
  maxPValue?: number;
  /**
   * Minimum relative change, e.g. 0.05 for 5% (default 0.05), judged with its uncertainty: a
   * change measured below it still counts when the floor lies within its 95% confidence interval
   * and the interval's near end is at least half the floor (see `largeEnough`).
   */
  minMagnitude?: number;
  /**
   * Fewest points a regime must have (default 3). Not in Otava, which benchmarks on quiet machines:
   * one outlier alone makes two "significant" change points (into and out of a one-point regime).
   * The newest runs, too few for a regime, are judged by the caller's per-run check instead.
   */
  minSegment?: number;
  /**
   * Longest burst (default 5 points): a regime this short whose neighbours on both sides are at
   * the same level (the series returns to where it was) is load on a shared machine, not a
   * regime, and both its change points go. A short regime that does not return stays.
   */
  burstLength?: number;
  /** Re-locate survivors over the stretch between their neighbours (default true). */
  refine?: boolean;
}

export interface ChangePoint extends SideStats {
  /** Index of the first point of the new regime. */
  index: number;
  /** Relative change after/before − 1 (positive: the value grew). */
  change: number;
  /** max(|after/before − 1|, |before/after − 1|), Otava's symmetric magnitude. */
  magnitude: number;
  /** Points from the previous change point (or the start) to this one. */
  samplesBefore: number;
  /** Points from this change point to the next (or the end). */
  samplesAfter: number;
}

export const CHANGE_POINT_DEFAULTS = {
  windowLength: 50,
  maxPValue: 0.001,
  minMagnitude: 0.05,
  minSegment: 3,
  burstLength: 5,
} as const;

/** z for a two-sided 95% interval. */
const Z95 = 1.96;

function rel(a: number, b: number): number {
  return a === 0 ? 0 : b / a - 1;
}

function withStats(stats: SegmentStats, index: number, from: number, to: number): ChangePoint {
  const s = stats.compare(from, index, to);
  const change = rel(s.meanBefore, s.meanAfter);
  const magnitude = Math.max(Math.abs(change), Math.abs(rel(s.meanAfter, s.meanBefore)));
  return { ...s, index, change, magnitude, samplesBefore: index - from, samplesAfter: to - index };
}

/**
 * Whether a change is large enough to report. The measured size of a true 5% step scatters around
 * 5%, so a fixed floor drops half of them; instead the floor must lie within the 95% interval of
 * the magnitude (or below it), and the interval's near end must clear half the floor, so that a
 * noisy series cannot pass a small chance difference off as a large one.
 */
export function largeEnough(cp: ChangePoint, minMagnitude: number): boolean {
  if (cp.magnitude > minMagnitude) return true;
  const base = Math.min(Math.abs(cp.meanBefore), Math.abs(cp.meanAfter));
  if (!(base > 0)) return false;
  const se =
    Math.sqrt(
      (cp.stdBefore * cp.stdBefore) / Math.max(1, cp.samplesBefore) +
        (cp.stdAfter * cp.stdAfter) / Math.max(1, cp.samplesAfter),
    ) / base;
  return cp.magnitude + Z95 * se >= minMagnitude && cp.magnitude - Z95 * se >= minMagnitude / 2;
}

/** Split step: weak change points from E-Divisive over windows that advance by half a window. */
export function splitStep(z: readonly number[], windowLength: number, maxPValue: number): number[] {
  if (windowLength < 2) throw new RangeError('windowLength must be at least 2');
  const step = Math.floor(windowLength / 2);
  const found = new Set<number>();
  let start = 0;
  while (start < z.length) {
    const end = Math.min(start + windowLength, z.length);
    const points = eDivisiveWindow(z, start, end, maxPValue);
    for (const p of points) found.add(p);
    // Like Otava: restart at the last new change point when it lies beyond the half-window step.
    start = Math.max(points.at(-1) ?? 0, start + step);
  }
  return [...found].sort((a, b) => a - b);
}

export interface MergeOptions {
  maxPValue: number;
  minMagnitude: number;
  minSegment?: number;
  burstLength?: number;
}

/**
 * Merge step: drop the weakest change point and re-test its neighbours until all pass. Weakest, in
 * order: a point bounding a regime shorter than `minSegment`; the two points around a burst; the
 * highest p-value above `maxPValue`; the smallest change that is not `largeEnough`.
 */
export function mergeStep(z: readonly number[], weak: readonly number[], opts: MergeOptions): ChangePoint[] {
  const { maxPValue, minMagnitude } = opts;
  const minSegment = opts.minSegment ?? 1;
  const burstLength = opts.burstLength ?? 0;
  const stats = new SegmentStats(z);
  const cps = weak.map((index, i) => withStats(stats, index, weak[i - 1] ?? 0, weak[i + 1] ?? z.length));
  const shortest = (i: number) => Math.min(cps[i]!.samplesBefore, cps[i]!.samplesAfter);
  const restat = (i: number) => {
    const cp = cps[i];
    if (cp) cps[i] = withStats(stats, cp.index, cps[i - 1]?.index ?? 0, cps[i + 1]?.index ?? z.length);
  };
  while (cps.length > 0) {
    const burst = burstLength > 0 ? findBurst(stats, cps, { ...opts, burstLength }) : -1;
    if (burst >= 0) {
      // The regime between cps[burst] and cps[burst + 1] returns to the level before it.
      cps.splice(burst, 2);
      restat(burst - 1);
      restat(burst);
      continue;
    }
    let weakest = 0;
    for (let i = 1; i < cps.length; i++) if (cps[i]!.pValue > cps[weakest]!.pValue) weakest = i;
    // A point bounding a too-short regime goes first (the shortest regime, then the higher p-value).
    let short = -1;
    for (let i = 0; i < cps.length; i++) {
      if (shortest(i) >= minSegment) continue;
      if (
        short < 0 ||
        shortest(i) < shortest(short) ||
        (shortest(i) === shortest(short) && cps[i]!.pValue > cps[short]!.pValue)
      )
        short = i;
    }
    if (short >= 0) weakest = short;
    else if (cps[weakest]!.pValue < maxPValue) {
      weakest = -1;
      for (let i = 0; i < cps.length; i++) {
        if (largeEnough(cps[i]!, minMagnitude)) continue;
        if (weakest < 0 || cps[i]!.magnitude < cps[weakest]!.magnitude) weakest = i;
      }
      if (weakest < 0) return cps;
    }
    cps.splice(weakest, 1);
    // Removing a point widens the intervals of both neighbours (Otava re-tests the right one and
    // the one after it; the left neighbour's right side changed too, so we re-test it as well).
    restat(weakest - 1);
    restat(weakest);
  }
  return cps;
}

/**
 * The first i where cps[i], cps[i + 1] bound a burst: at most `burstLength` points, and the
 * regimes on either side do not differ (not significantly, or by less than the floor).
 */
function findBurst(
  stats: SegmentStats,
  cps: readonly ChangePoint[],
  opts: MergeOptions & { burstLength: number },
): number {
  for (let i = 0; i + 1 < cps.length; i++) {
    const a = cps[i]!;
    const b = cps[i + 1]!;
    if (b.index - a.index > opts.burstLength) continue;
    // Bursts go the other way from both neighbours: up then down, or down then up.
    if (Math.sign(a.change) === Math.sign(b.change)) continue;
    const from = cps[i - 1]?.index ?? 0;
    const to = cps[i + 2]?.index ?? stats.length;
    if (a.index - from < 1 || to - b.index < 1) continue;
    const side = stats.compareApart(from, a.index, b.index, to);
    const level = Math.abs(rel(side.meanBefore, side.meanAfter));
    if (side.pValue > opts.maxPValue || level < opts.minMagnitude) return i;
  }
  return -1;
}

/** Change points of a series, oldest first. NaN and missing values must be removed beforehand. */
export function detectChangePoints(series: readonly number[], opts: ChangePointOptions = {}): ChangePoint[] {
  const windowLength = opts.windowLength ?? CHANGE_POINT_DEFAULTS.windowLength;
  const maxPValue = opts.maxPValue ?? CHANGE_POINT_DEFAULTS.maxPValue;
  const minMagnitude = opts.minMagnitude ?? CHANGE_POINT_DEFAULTS.minMagnitude;
  const minSegment = opts.minSegment ?? CHANGE_POINT_DEFAULTS.minSegment;
  const burstLength = opts.burstLength ?? CHANGE_POINT_DEFAULTS.burstLength;
  if (series.length < 3) return [];
  // Otava's relaxed first pass: 10x the final threshold below 0.05.
  const firstPass = maxPValue < 0.05 ? maxPValue * 10 : maxPValue < 0.5 ? maxPValue * 2 : maxPValue;
  const weak = splitStep(series, windowLength, firstPass);
  const merged = mergeStep(series, weak, { maxPValue, minMagnitude, minSegment, burstLength });
  return opts.refine === false ? merged : refine(series, merged);
}

/**
 * Re-locates each change point by the energy statistic over the whole stretch between its
 * neighbours (the split step only saw one window, often with the change near its edge). Not in
 * Otava; the benchmark measures what it buys. O(L log L) per stretch (energy-profile.ts), and
 * each point lies in at most two stretches.
 */
function refine(z: readonly number[], cps: readonly ChangePoint[]): ChangePoint[] {
  const stats = new SegmentStats(z);
  const out = [...cps];
  for (let i = 0; i < out.length; i++) {
    const from = out[i - 1]?.index ?? 0;
    const to = out[i + 1]?.index ?? z.length;
    const q = energyProfile(z.slice(from, to));
    let best = out[i]!.index;
    let bestQ = Number.NEGATIVE_INFINITY;
    for (let tau = 1; tau < to - from; tau++) {
      if (q[tau]! > bestQ) {
        bestQ = q[tau]!;
        best = from + tau;
      }
    }
    out[i] = withStats(stats, best, from, to);
  }
  // A moved point changes its right neighbour's left side.
  return out.map((cp, i) =>
    withStats(stats, cp.index, out[i - 1]?.index ?? 0, out[i + 1]?.index ?? z.length),
  );
}
