/**
 * Change-point detection on a performance series as Apache Otava (formerly Hunter) does it
 * ("Hunter: Using Change Point Detection to Hunt for Performance Regressions", Fleming et al.,
 * ICPE 2023): a split step runs E-Divisive in sliding windows with a relaxed p-value to collect
 * weak change points, and a merge step removes the weakest (highest p-value, then smallest
 * magnitude) until every survivor is significant and large enough.
 */
import { compareSides, EnergyCalculator, eDivisiveWindow, type SideStats } from './e-divisive.js';

export interface ChangePointOptions {
  /** Sliding window length (Otava's default 50). */
  windowLength?: number;
  /** Significance threshold of the final change points (default 0.001). */
  maxPValue?: number;
  /** Minimum relative change, e.g. 0.05 for 5% (default 0.05). */
  minMagnitude?: number;
  /**
   * Fewest points a regime must have (default 5). Not in Otava, which benchmarks on quiet machines:
   * on shared CI runners load comes in bursts of a few consecutive runs, and one outlier alone
   * makes two "significant" change points (into and out of a one-point regime). The newest runs,
   * too few for a regime, are judged by the caller's per-run check instead.
   */
  minSegment?: number;
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
}

export const CHANGE_POINT_DEFAULTS = {
  windowLength: 50,
  maxPValue: 0.001,
  minMagnitude: 0.05,
  minSegment: 3,
} as const;

function rel(a: number, b: number): number {
  return a === 0 ? 0 : b / a - 1;
}

function withStats(z: readonly number[], index: number, from: number, to: number): ChangePoint {
  const s = compareSides(z, from, index, to);
  const change = rel(s.meanBefore, s.meanAfter);
  const magnitude = Math.max(Math.abs(change), Math.abs(rel(s.meanAfter, s.meanBefore)));
  return { ...s, index, change, magnitude };
}

/** Stats of every change point against its neighbours (the intervals the others define). */
function restat(z: readonly number[], indexes: readonly number[]): ChangePoint[] {
  return indexes.map((index, i) => withStats(z, index, indexes[i - 1] ?? 0, indexes[i + 1] ?? z.length));
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

/** Merge step: drop the weakest change point and re-test its neighbours until all pass. */
export function mergeStep(
  z: readonly number[],
  weak: readonly number[],
  maxPValue: number,
  minMagnitude: number,
  minSegment = 1,
): ChangePoint[] {
  const cps = restat(z, weak);
  const shortest = (i: number) =>
    Math.min(cps[i]!.index - (cps[i - 1]?.index ?? 0), (cps[i + 1]?.index ?? z.length) - cps[i]!.index);
  while (cps.length > 0) {
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
      weakest = 0;
      for (let i = 1; i < cps.length; i++) if (cps[i]!.magnitude < cps[weakest]!.magnitude) weakest = i;
      if (cps[weakest]!.magnitude > minMagnitude) return cps;
    }
    cps.splice(weakest, 1);
    // Removing a point widens the intervals of both neighbours (Otava re-tests the right one and
    // the one after it; the left neighbour's right side changed too, so we re-test it as well).
    for (const i of [weakest - 1, weakest]) {
      const cp = cps[i];
      if (!cp) continue;
      cps[i] = withStats(z, cp.index, cps[i - 1]?.index ?? 0, cps[i + 1]?.index ?? z.length);
    }
  }
  return cps;
}

/** Change points of a series, oldest first. NaN and missing values must be removed beforehand. */
export function detectChangePoints(series: readonly number[], opts: ChangePointOptions = {}): ChangePoint[] {
  const windowLength = opts.windowLength ?? CHANGE_POINT_DEFAULTS.windowLength;
  const maxPValue = opts.maxPValue ?? CHANGE_POINT_DEFAULTS.maxPValue;
  const minMagnitude = opts.minMagnitude ?? CHANGE_POINT_DEFAULTS.minMagnitude;
  const minSegment = opts.minSegment ?? CHANGE_POINT_DEFAULTS.minSegment;
  if (series.length < 3) return [];
  // Otava's relaxed first pass: 10x the final threshold below 0.05.
  const firstPass = maxPValue < 0.05 ? maxPValue * 10 : maxPValue < 0.5 ? maxPValue * 2 : maxPValue;
  const weak = splitStep(series, windowLength, firstPass);
  const merged = mergeStep(series, weak, maxPValue, minMagnitude, minSegment);
  return opts.refine === false ? merged : refine(series, merged);
}

/**
 * Re-locates each change point by the energy statistic over the whole stretch between its
 * neighbours (the split step only saw one window, often with the change near its edge). Not in
 * Otava; the benchmark measures what it buys.
 */
function refine(z: readonly number[], cps: readonly ChangePoint[]): ChangePoint[] {
  const out = [...cps];
  for (let i = 0; i < out.length; i++) {
    const from = out[i - 1]?.index ?? 0;
    const to = out[i + 1]?.index ?? z.length;
    const calc = new EnergyCalculator(z.slice(from, to));
    let best = out[i]!.index;
    let bestQ = -Infinity;
    for (let tau = from + 1; tau < to; tau++) {
      const q = calc.qhat(0, tau - from, to - from);
      if (q > bestQ) {
        bestQ = q;
        best = tau;
      }
    }
    out[i] = withStats(z, best, from, to);
  }
  return out;
}
