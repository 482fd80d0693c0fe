/**
 * Regressions over history: change points on every task's duration series and on the run total,
 * plus a check of the newest run against the current regime (a change point needs a few runs of
 * the new regime; the newest-run check speaks up at once, as a suspect rather than a finding).
 */
import {
  CHANGE_POINT_DEFAULTS,
  type ChangePoint,
  type ChangePointOptions,
  detectChangePoints,
} from './change-points.js';
import { ENVIRONMENT_SUBJECT, type EnvironmentShift, separateEnvironment } from './environment.js';
import type { RunRecord } from './history.js';
import { runSeries, type Series, taskSeries } from './series.js';
import { mean, stddev } from './stats.js';
import { tTwoSidedP } from './student-t.js';

export type Direction = 'slower' | 'faster';

/** The two regimes around a change point and how they differ (history and `--input` alike). */
export type StepStats = Omit<ChangePoint, 'index' | 't'>;

/** A change point's regimes, without its position and test statistic. */
export function stepStats(cp: ChangePoint): StepStats {
  return {
    meanBefore: cp.meanBefore,
    meanAfter: cp.meanAfter,
    stdBefore: cp.stdBefore,
    stdAfter: cp.stdAfter,
    change: cp.change,
    magnitude: cp.magnitude,
    pValue: cp.pValue,
    samplesBefore: cp.samplesBefore,
    samplesAfter: cp.samplesAfter,
  };
}

export interface Detection extends StepStats {
  subject: string;
  metric: 'duration_ms';
  direction: Direction;
  /** Position of the first point of the new regime in the subject's series. */
  index: number;
  /** First run of the new regime. */
  runId: string;
  runStartedAt: number;
  /** Last run of the old regime. */
  previousRunId: string | null;
  /** Mean of the newest regime of the series. */
  latestMean: number;
  /** The newest regime still differs from `meanBefore` in this direction by the minimum magnitude. */
  persists: boolean;
}

export interface Suspect {
  subject: string;
  runId: string;
  value: number;
  baselineMean: number;
  baselineSamples: number;
  change: number;
  pValue: number;
}

export interface RegressionScan {
  detections: Detection[];
  suspects: Suspect[];
  /**
   * Moments when most tasks shifted together (the machine, not the code), with each task judged
   * against the common shift; their task change points that did not move beyond the machine are
   * left out of `detections`, which holds one `(environment)` detection per shift instead.
   */
  environment: EnvironmentShift[];
  /** Subjects examined with the runs of their points, oldest first. */
  series: { subject: string; runIds: string[] }[];
  /** Start of the analysed window (epoch ms) when only runs since then were read. */
  since?: number;
}

const MIN_BASELINE = 5;

function scanSeries(
  s: Series,
  opts: Required<Omit<ChangePointOptions, 'refine'>>,
): {
  detections: Detection[];
  suspect?: Suspect;
} {
  const values = s.points.map((p) => p.value);
  const cps = detectChangePoints(values, opts);
  const lastStart = cps.at(-1)?.index ?? 0;
  const latestMean = mean(values.slice(lastStart));
  const detections = cps.map((cp): Detection => {
    const direction: Direction = cp.change >= 0 ? 'slower' : 'faster';
    const persists =
      direction === 'slower'
        ? latestMean >= cp.meanBefore * (1 + opts.minMagnitude)
        : latestMean <= cp.meanBefore * (1 - opts.minMagnitude);
    return {
      subject: s.subject,
      metric: 'duration_ms',
      direction,
      index: cp.index,
      runId: s.points[cp.index]!.runId,
      runStartedAt: s.points[cp.index]!.startedAt,
      previousRunId: s.points[cp.index - 1]?.runId ?? null,
      ...stepStats(cp),
      latestMean,
      persists,
    };
  });

  // Newest point against the regime it belongs to (without itself): a one-point prediction test.
  const newest = values.length - 1;
  const baseline = values.slice(lastStart, newest);
  let suspect: Suspect | undefined;
  if (newest > lastStart && baseline.length >= MIN_BASELINE) {
    const m = mean(baseline);
    const sd = stddev(baseline);
    const x = values[newest]!;
    const se = sd * Math.sqrt(1 + 1 / baseline.length);
    const p = se > 0 ? tTwoSidedP((x - m) / se, baseline.length - 1) : x === m ? 1 : 0;
    if (x > m * (1 + opts.minMagnitude) && p <= opts.maxPValue) {
      suspect = {
        subject: s.subject,
        runId: s.points[newest]!.runId,
        value: x,
        baselineMean: m,
        baselineSamples: baseline.length,
        change: x / m - 1,
        pValue: p,
      };
    }
  }
  return suspect ? { detections, suspect } : { detections };
}

/** Change points and suspects over every task series and the run total. */
export function scanRegressions(
  runs: readonly RunRecord[],
  opts: ChangePointOptions = {},
  window: { since?: number } = {},
): RegressionScan {
  const o = {
    windowLength: opts.windowLength ?? CHANGE_POINT_DEFAULTS.windowLength,
    maxPValue: opts.maxPValue ?? CHANGE_POINT_DEFAULTS.maxPValue,
    minMagnitude: opts.minMagnitude ?? CHANGE_POINT_DEFAULTS.minMagnitude,
    minSegment: opts.minSegment ?? CHANGE_POINT_DEFAULTS.minSegment,
    burstLength: opts.burstLength ?? CHANGE_POINT_DEFAULTS.burstLength,
  };
  const tasks = taskSeries(runs);
  const all = [runSeries(runs), ...tasks].filter((s) => s.points.length > 0);
  const found: Detection[] = [];
  const suspects: Suspect[] = [];
  for (const s of all) {
    const r = scanSeries(s, o);
    found.push(...r.detections);
    if (r.suspect) suspects.push(r.suspect);
  }
  const runIds = runs.map((r) => r.id);
  const env = separateEnvironment(runIds, tasks, found, o);
  const series = all.map((s) => ({ subject: s.subject, runIds: s.points.map((p) => p.runId) }));
  if (env.environment.length) series.push({ subject: ENVIRONMENT_SUBJECT, runIds });
  return {
    detections: [...env.detections, ...env.environment],
    suspects,
    environment: env.shifts,
    series,
    ...(window.since !== undefined ? { since: window.since } : {}),
  };
}
