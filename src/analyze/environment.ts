/**
 * The machine, not the code. On a shared runner, load moves every task at once: when most tasks
 * shift in the same direction at (nearly) the same run, that is one environment finding ("this
 * runner got 13% slower from run N"), and each task's own change point is judged against the
 * common shift: it stays a regression only when the task moved beyond the machine (its after-side
 * divided by the common factor still differs significantly and by the minimum magnitude).
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
  /** The common shift: median after/before − 1 over the tasks that can be compared. */
  change: number;
  /** Tasks that moved with a change point of their own, and tasks compared at this run. */
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

/**
 * Finds moments when most tasks shifted together. Returns the environment shifts, the task (and
 * run-total) detections that remain regressions of their own, and one environment detection per
 * shift for the findings store.
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
      const movedSubjects = new Set(cluster.map((d) => d.subject));
      if (movedSubjects.size < 2) continue;
      const at = Math.round(median(cluster.map((d) => position.get(d.runId) ?? 0)));
      // Every task that ran on both sides of this moment is compared, moved or not.
      const compared: { subject: string; ratio: number; own?: Detection }[] = [];
      for (const s of tasks) {
        const own = cluster.find((d) => d.subject === s.subject);
        const others = taskDetections.filter((d) => d.subject === s.subject && d !== own);
        const r = own
          ? { ratio: own.meanAfter / own.meanBefore }
          : ratioAround(s, position, at, others, o.minSegment);
        if (r) compared.push({ subject: s.subject, ratio: r.ratio, ...(own ? { own } : {}) });
      }
      // "Most tasks": more than half of those that can be compared moved with a change point.
      if (movedSubjects.size * 2 <= compared.length) continue;
      const factor = median(compared.map((c) => c.ratio));
      const common = factor - 1;
      if (Math.sign(common) !== (direction === 'slower' ? 1 : -1)) continue;
      const judged: TaskAgainstShift[] = compared.map((c) => {
        const own = c.own ? beyondMachine(c.own, factor, o) : false;
        if (c.own && !own) attributed.add(c.own);
        return {
          subject: c.subject,
          change: c.own ? c.own.change : null,
          beyond: c.ratio / factor - 1,
          own,
        };
      });
      const runId = runIds[at]!;
      const first = cluster.find((d) => d.runId === runId) ?? cluster[0]!;
      shifts.push({
        runId,
        runStartedAt: first.runStartedAt,
        direction,
        change: common,
        moved: movedSubjects.size,
        compared: compared.length,
        tasks: judged.sort((a, b) => a.subject.localeCompare(b.subject)),
      });
      const sum = (f: (d: Detection) => number) => cluster.reduce((n, d) => n + f(d), 0);
      environment.push({
        subject: ENVIRONMENT_SUBJECT,
        metric: 'duration_ms',
        direction,
        index: at,
        runId,
        runStartedAt: first.runStartedAt,
        previousRunId: runIds[at - 1] ?? null,
        // The moved tasks together: their summed means before and after.
        meanBefore: sum((d) => d.meanBefore),
        meanAfter: sum((d) => d.meanAfter),
        stdBefore: Math.sqrt(sum((d) => d.stdBefore ** 2)),
        stdAfter: Math.sqrt(sum((d) => d.stdAfter ** 2)),
        change: common,
        magnitude: Math.max(Math.abs(common), Math.abs(1 / factor - 1)),
        pValue: Math.max(...cluster.map((d) => d.pValue)),
        samplesBefore: Math.min(...cluster.map((d) => d.samplesBefore)),
        samplesAfter: Math.min(...cluster.map((d) => d.samplesAfter)),
        latestMean: sum((d) => d.latestMean),
        persists: cluster.filter((d) => d.persists).length * 2 > cluster.length,
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
