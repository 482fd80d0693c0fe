import { describe, expect, it } from 'vitest';
import { run, task } from '../../test/analyze/fixtures.js';
import { ENVIRONMENT_SUBJECT } from './environment.js';
import type { RunRecord } from './history.js';
import { mulberry32, normal, shiftedSeries } from './random.js';
import { scanRegressions } from './regressions.js';
import { RUN_SUBJECT } from './series.js';

/**
 * `length` runs of tasks in sequence, each task's durations a seeded series (2% noise) with its
 * own relative shift from run `at` on.
 */
function shifted(at: number, shifts: Record<string, number>, seed: number, length = 60): RunRecord[] {
  const columns = Object.entries(shifts).map(([id, shift], k) => ({
    id,
    values: shiftedSeries({ seed: seed * 100 + k, length, base: 200 + 100 * k, noise: 0.02, shift, at }),
  }));
  return Array.from({ length }, (_, i) => {
    let t = i * 60_000;
    const tasks = columns.map((c) => {
      const rec = task(c.id, t, c.values[i]!);
      t += c.values[i]!;
      return rec;
    });
    return run(`run${i}`, i * 60_000, tasks);
  });
}

/** 60 runs of two tasks in sequence; `slow` gets 30% slower from run 35 on. */
function history(seed: number): RunRecord[] {
  const g = normal(mulberry32(seed));
  const runs: RunRecord[] = [];
  for (let i = 0; i < 60; i++) {
    const at = i * 60_000;
    const slow = 200 * (i >= 35 ? 1.3 : 1) + 4 * g();
    const steady = 300 + 4 * g();
    runs.push(run(`run${i}`, at, [task('slow', at, slow), task('steady', at + slow, steady)]));
  }
  return runs;
}

describe('regression scan', () => {
  it('names the task, the first run of the new regime, the means and the p-value', () => {
    const scan = scanRegressions(history(1));
    const slow = scan.detections.filter((d) => d.subject === 'slow');
    expect(slow).toHaveLength(1);
    const d = slow[0]!;
    expect(d.runId).toBe('run35');
    expect(d.previousRunId).toBe('run34');
    expect(d.direction).toBe('slower');
    expect(d.meanBefore).toBeCloseTo(200, -1);
    expect(d.meanAfter).toBeCloseTo(260, -1);
    expect(d.pValue).toBeLessThanOrEqual(0.001);
    expect(d.persists).toBe(true);
    expect(d.samplesBefore).toBe(35);
    expect(d.samplesAfter).toBe(25);
    expect(scan.detections.some((x) => x.subject === 'steady')).toBe(false);
    // The run total moves too (by 60 ms of 500).
    expect(scan.detections.find((x) => x.subject === RUN_SUBJECT)?.runId).toBe('run35');
  });

  it('cache hits and failures stay out of the series', () => {
    const runs = history(2).map((r, i) =>
      i % 7 === 3
        ? { ...r, tasks: r.tasks.map((t) => ({ ...t, cache: 'hit-local' as const, durationMs: 5 })) }
        : r,
    );
    const scan = scanRegressions(runs);
    expect(scan.detections.filter((d) => d.subject === 'steady')).toEqual([]);
    expect(scan.series.find((s) => s.subject === 'steady')!.runIds).toHaveLength(60 - 9);
  });

  it('a recovered slowdown no longer persists', () => {
    const runs = history(3);
    // Runs 50.. go back to normal.
    const fixed = runs.map((r, i) =>
      i >= 50
        ? { ...r, tasks: r.tasks.map((t) => (t.taskId === 'slow' ? { ...t, durationMs: 200 + (i % 3) } : t)) }
        : r,
    );
    const slow = scanRegressions(fixed).detections.filter((d) => d.subject === 'slow');
    expect(slow.map((d) => d.direction)).toEqual(['slower', 'faster']);
    expect(slow[0]!.persists).toBe(false);
  });

  it('flags a newest run far outside its regime as a suspect', () => {
    const runs = history(4).slice(0, 30);
    const last = runs[29]!;
    runs[29] = {
      ...last,
      tasks: last.tasks.map((t) => (t.taskId === 'steady' ? { ...t, durationMs: 400 } : t)),
    };
    const scan = scanRegressions(runs);
    expect(scan.suspects.map((s) => [s.subject, s.runId])).toContainEqual(['steady', 'run29']);
    expect(scan.suspects.find((s) => s.subject === 'steady')!.change).toBeGreaterThan(0.3);
  });

  it('when most tasks move at once, one environment finding; a task is a regression only beyond the machine', () => {
    // A shared runner got 13% slower from run 40: every task moves. `compile` also got slower
    // by its own code change at the same run (+30% beyond the machine).
    const g = normal(mulberry32(21));
    const runs: RunRecord[] = [];
    for (let i = 0; i < 80; i++) {
      const at = i * 60_000;
      const machine = i >= 40 ? 1.13 : 1;
      let t = at;
      const tasks = [
        ['compile', 400 * (i >= 40 ? 1.3 : 1)],
        ['lint', 200],
        ['sleep', 200],
        ['test', 600],
      ].map(([id, base]) => {
        const d = Number(base) * machine * (1 + 0.015 * g());
        const rec = task(String(id), t, d);
        t += d;
        return rec;
      });
      runs.push(run(`run${i}`, at, tasks));
    }
    const scan = scanRegressions(runs);
    expect(scan.environment).toHaveLength(1);
    const shift = scan.environment[0]!;
    expect(shift.runId).toBe('run40');
    expect(shift.direction).toBe('slower');
    expect(shift.change).toBeGreaterThan(0.1);
    expect(shift.change).toBeLessThan(0.16);
    expect(shift.tasks.map((t) => [t.subject, t.own])).toEqual([
      ['compile', true],
      ['lint', false],
      ['sleep', false],
      ['test', false],
    ]);
    expect(shift.tasks.find((t) => t.subject === 'compile')!.beyond).toBeGreaterThan(0.25);
    // Findings: the environment once, compile (its own change), and nothing for the tasks that
    // only moved with the machine; the run total moved by more than the machine (compile) and stays.
    const subjects = scan.detections.map((d) => d.subject).sort();
    expect(subjects).toEqual([RUN_SUBJECT, ENVIRONMENT_SUBJECT, 'compile'].sort());
    const env = scan.detections.find((d) => d.subject === ENVIRONMENT_SUBJECT)!;
    expect(env.runId).toBe('run40');
    expect(scan.series.find((s) => s.subject === ENVIRONMENT_SUBJECT)!.runIds[env.index]).toBe('run40');
  });

  it('without the code change, the machine explains everything, the run total included', () => {
    const g = normal(mulberry32(22));
    const runs: RunRecord[] = [];
    for (let i = 0; i < 60; i++) {
      const at = i * 60_000;
      const machine = i >= 30 ? 1.14 : 1;
      const a = 300 * machine * (1 + 0.015 * g());
      const b = 200 * machine * (1 + 0.015 * g());
      const c = 250 * machine * (1 + 0.015 * g());
      runs.push(run(`run${i}`, at, [task('a', at, a), task('b', at + a, b), task('c', at + a + b, c)]));
    }
    const scan = scanRegressions(runs);
    expect(scan.detections.map((d) => [d.subject, d.runId])).toEqual([[ENVIRONMENT_SUBJECT, 'run30']]);
    // Two tasks are not enough to speak for the machine: the same shift on two of them is two findings.
    const two = runs.map((r) => ({ ...r, tasks: r.tasks.filter((t) => t.taskId !== 'c') }));
    const scan2 = scanRegressions(two);
    expect(scan2.environment).toEqual([]);
    expect(
      scan2.detections.filter((d) => d.subject !== RUN_SUBJECT).map((d) => [d.subject, d.runId]),
    ).toEqual([
      ['a', 'run30'],
      ['b', 'run30'],
    ]);
  });

  it('a real regression of one task plus a coincident load shift on one neighbour is not the machine', () => {
    // `work` got 30% slower from run 35; `lint`'s runner slot got 15% slower at run 36 and stayed.
    const runs = shifted(35, { prep: 0, work: 0.3, lint: 0 }, 31);
    const late = shifted(36, { prep: 0, work: 0, lint: 0.15 }, 31);
    const mixed = runs.map((r, i) => ({
      ...r,
      tasks: r.tasks.map((t) => (t.taskId === 'lint' ? late[i]!.tasks.find((x) => x.taskId === 'lint')! : t)),
    }));
    const scan = scanRegressions(mixed);
    // Both change points are there, and within 2 runs of each other: the old "two tasks" rule fired.
    const tasks = scan.detections.filter((d) => d.subject !== RUN_SUBJECT);
    expect(tasks.map((d) => [d.subject, d.runId]).sort()).toEqual([
      ['lint', 'run36'],
      ['work', 'run35'],
    ]);
    expect(scan.environment).toEqual([]);
    expect(scan.detections.some((d) => d.subject === ENVIRONMENT_SUBJECT)).toBe(false);
    // The short history of the e2e test on a loaded machine: 19 runs, `work` +30% from run 12, and
    // load kept `lint` +28% from run 13 on. Still `work` (and `lint`), never the machine.
    const short = shifted(12, { prep: 0, work: 0.3, lint: 0 }, 34, 19);
    const load = shifted(13, { prep: 0, work: 0, lint: 0.28 }, 34, 19);
    const e2e = scanRegressions(
      short.map((r, i) => ({
        ...r,
        tasks: r.tasks.map((t) =>
          t.taskId === 'lint' ? load[i]!.tasks.find((x) => x.taskId === 'lint')! : t,
        ),
      })),
    );
    expect(e2e.environment).toEqual([]);
    expect(e2e.detections.map((d) => [d.subject, d.runId]).sort()).toEqual([
      [RUN_SUBJECT, 'run12'],
      ['lint', 'run13'],
      ['work', 'run12'],
    ]);
  });

  it('five tasks 15% slower at the same run are one environment finding and no task', () => {
    const scan = scanRegressions(shifted(30, { a: 0.15, b: 0.15, c: 0.15, d: 0.15, e: 0.15 }, 32));
    expect(scan.environment).toHaveLength(1);
    const shift = scan.environment[0]!;
    expect(shift.runId).toBe('run30');
    expect(shift.change).toBeGreaterThan(0.12);
    expect(shift.change).toBeLessThan(0.18);
    expect([shift.moved, shift.compared]).toEqual([5, 5]);
    expect(shift.tasks.filter((t) => t.own)).toEqual([]);
    // Nothing else: no task, and not the run total, which moved with the machine.
    expect(scan.detections.map((d) => [d.subject, d.runId])).toEqual([[ENVIRONMENT_SUBJECT, 'run30']]);
  });

  it('five tasks 15% slower, one of them 45%: the machine, and that task judged against it', () => {
    const scan = scanRegressions(shifted(30, { a: 0.15, b: 0.15, c: 0.45, d: 0.15, e: 0.15 }, 33));
    expect(scan.environment).toHaveLength(1);
    const shift = scan.environment[0]!;
    expect(shift.runId).toBe('run30');
    // The common shift is the machine's, from the four tasks that only moved with it, not pulled
    // towards `c`; `c` does not vote for the machine, it is judged against it.
    expect(shift.change).toBeGreaterThan(0.12);
    expect(shift.change).toBeLessThan(0.18);
    expect([shift.moved, shift.compared]).toEqual([4, 5]);
    expect(shift.tasks.filter((t) => t.own).map((t) => t.subject)).toEqual(['c']);
    const beyond = shift.tasks.find((t) => t.subject === 'c')!.beyond;
    expect(beyond).toBeGreaterThan(1.45 / 1.15 - 1 - 0.05);
    expect(beyond).toBeLessThan(1.45 / 1.15 - 1 + 0.05);
    const tasks = scan.detections.filter(
      (d) => d.subject !== RUN_SUBJECT && d.subject !== ENVIRONMENT_SUBJECT,
    );
    expect(tasks.map((d) => [d.subject, d.runId])).toEqual([['c', 'run30']]);
    // The environment finding sums the tasks that moved with the machine, not `c`.
    const env = scan.detections.find((d) => d.subject === ENVIRONMENT_SUBJECT)!;
    expect(env.meanAfter / env.meanBefore - 1).toBeLessThan(0.18);
  });

  it('one task moving alone is that task, not the machine', () => {
    const scan = scanRegressions(history(1));
    expect(scan.environment).toEqual([]);
    expect(scan.detections.some((d) => d.subject === ENVIRONMENT_SUBJECT)).toBe(false);
  });
});
