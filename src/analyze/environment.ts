/**
 * The machine, not the code. On a shared runner, load moves every task at once: when most tasks
 * shift in the same direction at (nearly) the same run, that is one environment finding ("this
 * runner got 13% slower from run N"), and each task's own change point is judged against the
 * common shift: it stays a regression only when the task moved beyond the machine (its after-side
 * divided by the common factor still differs significantly and by the minimum magnitude).
 *
 * The evidence for the machine must not come from the regression it excuses. A real regression of
 * one task plus a load burst on one neighbour (or the run total, which contains the regression) is
 * not the machine. So only tasks with a significant change point of their own at that moment that
 * the common factor explains vote for it (a task beyond the machine is judged, not counted); the
 * common factor is the median over those voters, found again without the outliers until stable;
 * and the voters must be at least MIN_VOTERS and more than half of the tasks that ran on both sides.
 */
import { type ChangePoint, largeEnough } from './change-points.js';
import type { Detection } from './regressions.js';
import type { Series } from './series.js';
import { median } from './stats.js';
import { tTestFromStats } from './student-t.js';

/** Subject of environment findings (parentheses cannot appear in task ids). */
export const ENVIRONMENT_SUBJECT = '(environment)';

/** Change points this many runs apart count as the same moment. */
const SAME_RUN = 2;

/** Fewest tasks that must move with the machine (besides any task that moved beyond it). */
const MIN_VOTERS = 3;

/** How one task's change point compares with the machine's. */
export interface TaskAgainstShift {
  subject: string;
  /** The task's own change (after/before − 1) at this moment; null when it had no change point. */
  change: number | null;
  /** Its change beyond the machine's: (1 + change) / (1 + common) − 1. */
  beyond: number;
  /** Still a regression of its own after the machine's shift is taken out. */
  own: boolean;
}

export interface EnvironmentShift {
  /** First run of the new regime (the median of the tasks' change points). */
  runId: string;
  runStartedAt: number;
  direction: 'slower' | 'faster';
  /** The common shift: median after/before − 1 over the tasks that moved with the machine. */
  change: number;
  /**
   * Tasks whose own change point at this moment the common shift explains (the voters; tasks
   * that moved beyond the machine are not counted), and tasks compared at this run.
   */
  moved: number;
  compared: number;
  tasks: TaskAgainstShift[];
}

interface Options {
  maxPValue: number;
  minMagnitude: number;
  minSegment: number;
}

/** Ratio of means around run position `at`, within the task's own neighbouring change points. */
function ratioAround(
  s: Series,
  position: Map<string, number>,
  at: number,
  own: readonly Detection[],
  minSegment: number,
): { index: number; ratio: number } | undefined {
  // First point of the task at or after run position `at`.
  const index = s.points.findIndex((p) => (position.get(p.runId) ?? -1) >= at);
  if (index < minSegment || s.points.length - index < minSegment) return undefined;
  const from = Math.max(0, ...own.filter((d) => d.index < index - SAME_RUN).map((d) => d.index));
  const to = Math.min(s.points.length, ...own.filter((d) => d.index > index + SAME_RUN).map((d) => d.index));
  const mean = (a: number, b: number) => {
    let sum = 0;
    for (let i = a; i < b; i++) sum += s.points[i]!.value;
    return sum / (b - a);
  };
  if (index - from < 1 || to - index < 1) return undefined;
  const before = mean(from, index);
  return before > 0 ? { index, ratio: mean(index, to) / before } : undefined;
}

/** Whether a task's change point still stands once the common factor is divided out of its after-side. */
function beyondMachine(d: Detection, factor: number, o: Options): boolean {
  const meanAfter = d.meanAfter / factor;
  const stdAfter = d.stdAfter / factor;
  const test = tTestFromStats(
    d.meanBefore,
    d.stdBefore,
    d.samplesBefore,
    meanAfter,
    stdAfter,
    d.samplesAfter,
  );
  const change = meanAfter / d.meanBefore - 1;
  const cp: ChangePoint = {
    index: d.index,
    meanBefore: d.meanBefore,
    meanAfter,
    stdBefore: d.stdBefore,
    stdAfter,
    t: test.t,
    pValue: test.p,
    change,
    magnitude: Math.max(Math.abs(change), Math.abs(d.meanBefore / meanAfter - 1)),
    samplesBefore: d.samplesBefore,
    samplesAfter: d.samplesAfter,
  };
  return test.p <= o.maxPValue && largeEnough(cp, o.minMagnitude);
}

const ratio = (d: Detection) => d.meanAfter / d.meanBefore;

/**
 * The common factor and the tasks it explains: the median ratio over the moved tasks, then again
 * over those it explains (a task beyond the machine must not pull the machine towards itself),
 * until the set is stable.
 */
function commonFactor(moved: readonly Detection[], o: Options): { factor: number; voters: Detection[] } {
  let voters = [...moved];
  let factor = median(voters.map(ratio));
  for (let round = 0; round <= moved.length; round++) {
    const next = moved.filter((d) => !beyondMachine(d, factor, o));
    if (next.length === voters.length && next.every((d, i) => d === voters[i])) break;
    voters = next;
    if (voters.length === 0) break;
    factor = median(voters.map(ratio));
  }
  return { factor, voters };
}

/**
 * Finds moments when most tasks shifted together. Returns the environment shifts, the task (and
 * run-total) detections that remain regressions of their own, and one environment detection per
 * shift for the findings store. The run total never votes: it contains every task's change.
 */
export function separateEnvironment(
  runIds: readonly string[],
  tasks: readonly Series[],
  detections: readonly Detection[],
  o: Options,
): { shifts: EnvironmentShift[]; detections: Detection[]; environment: Detection[] } {
  const position = new Map(runIds.map((id, i) => [id, i]));
  const bySubject = new Map(tasks.map((s) => [s.subject, s]));
  const taskDetections = detections.filter((d) => bySubject.has(d.subject));
  // Clusters of same-direction task change points within SAME_RUN runs of the first.
  const sorted = [...taskDetections].sort(
    (a, b) =>
      (position.get(a.runId) ?? 0) - (position.get(b.runId) ?? 0) || a.subject.localeCompare(b.subject),
  );
  const shifts: EnvironmentShift[] = [];
  const attributed = new Set<Detection>();
  const environment: Detection[] = [];
  for (const direction of ['slower', 'faster'] as const) {
    const list = sorted.filter((d) => d.direction === direction);
    for (let i = 0; i < list.length; ) {
      const anchor = position.get(list[i]!.runId) ?? 0;
      let j = i;
      while (j < list.length && (position.get(list[j]!.runId) ?? 0) - anchor <= SAME_RUN) j++;
      const cluster = list.slice(i, j);
      i = j;
      // Only significant change points of their own vote, and only those the common factor explains.
      // (A task has at most one per cluster: its regimes last at least minSegment ≥ 3 runs.)
      const moved = cluster;
      if (moved.length < MIN_VOTERS) continue;
      const { factor, voters } = commonFactor(moved, o);
      if (voters.length < MIN_VOTERS) continue;
      const common = factor - 1;
      if (Math.sign(common) !== (direction === 'slower' ? 1 : -1)) continue;
      const at = Math.round(median(voters.map((d) => position.get(d.runId) ?? 0)));
      // Every task that ran on both sides of this moment is compared, moved or not.
      const compared: { subject: string; ratio: number; own?: Detection }[] = [];
      for (const s of tasks) {
        const own = moved.find((d) => d.subject === s.subject);
        const others = taskDetections.filter((d) => d.subject === s.subject && d !== own);
        const r = own ? { ratio: ratio(own) } : ratioAround(s, position, at, others, o.minSegment);
        if (r) compared.push({ subject: s.subject, ratio: r.ratio, ...(own ? { own } : {}) });
      }
      // "Most tasks": the voters are more than half of all compared, the tasks beyond it included.
      if (voters.length * 2 <= compared.length) continue;
      const judged: TaskAgainstShift[] = compared.map((c) => {
        const own = c.own ? !voters.includes(c.own) : false;
        if (c.own && !own) attributed.add(c.own);
        return {
          subject: c.subject,
          change: c.own ? c.own.change : null,
          beyond: c.ratio / factor - 1,
          own,
        };
      });
      const runId = runIds[at]!;
      const first = voters.find((d) => d.runId === runId) ?? voters[0]!;
      shifts.push({
        runId,
        runStartedAt: first.runStartedAt,
        direction,
        change: common,
        moved: voters.length,
        compared: compared.length,
        tasks: judged.sort((a, b) => a.subject.localeCompare(b.subject)),
      });
      const sum = (f: (d: Detection) => number) => voters.reduce((n, d) => n + f(d), 0);
      environment.push({
        subject: ENVIRONMENT_SUBJECT,
        metric: 'duration_ms',
        direction,
        index: at,
        runId,
        runStartedAt: first.runStartedAt,
        previousRunId: runIds[at - 1] ?? null,
        // The tasks that moved with the machine together: their summed means before and after.
        meanBefore: sum((d) => d.meanBefore),
        meanAfter: sum((d) => d.meanAfter),
        stdBefore: Math.sqrt(sum((d) => d.stdBefore ** 2)),
        stdAfter: Math.sqrt(sum((d) => d.stdAfter ** 2)),
        change: common,
        magnitude: Math.max(Math.abs(common), Math.abs(1 / factor - 1)),
        pValue: Math.max(...voters.map((d) => d.pValue)),
        samplesBefore: Math.min(...voters.map((d) => d.samplesBefore)),
        samplesAfter: Math.min(...voters.map((d) => d.samplesAfter)),
        latestMean: sum((d) => d.latestMean),
        persists: voters.filter((d) => d.persists).length * 2 > voters.length,
      });
    }
  }
  // The run total moves with the machine too: judged against the same shift.
  const kept = detections.filter((d) => {
    if (attributed.has(d)) return false;
    if (bySubject.has(d.subject)) return true;
    const p = position.get(d.runId) ?? -1;
    const shift = shifts.find(
      (s) => s.direction === d.direction && Math.abs((position.get(s.runId) ?? 0) - p) <= SAME_RUN,
    );
    return !shift || beyondMachine(d, 1 + shift.change, o);
  });
  return { shifts, detections: kept, environment };
}
