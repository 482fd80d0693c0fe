import { describe, expect, it } from 'vitest';
import { run, task } from '../../test/analyze/fixtures.js';
import type { RunRecord } from './history.js';
import { mulberry32, normal } from './random.js';
import { scanRegressions } from './regressions.js';
import { RUN_SUBJECT } from './series.js';

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
});
