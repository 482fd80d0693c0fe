/** Predictions from history: robust to outliers, a prior for unknown tasks, declared resources win. */
import { describe, expect, it } from 'vitest';
import { TaskGraph } from '../../src/graph/graph.js';
import { type Prediction, predictTask, robustDuration, simTasks } from '../../src/plan/predict.js';
import { vpaTarget } from '../../src/plan/vpa.js';
import type { TaskRunRow } from '../../src/store/runs.js';
import { taskConfig } from '../helpers/config.js';

const GiB = 1024 ** 3;

function row(durationMs: number, over: Partial<TaskRunRow> = {}): TaskRunRow {
  return {
    run_id: 'r',
    task_id: 't',
    status: 'success',
    cache: 'miss',
    hash: null,
    started_at: 0,
    ended_at: durationMs,
    duration_ms: durationMs,
    predicted_ms: null,
    exit_code: 0,
    cpu_seconds: null,
    peak_rss_bytes: null,
    attempts: 1,
    reason: null,
    failure: null,
    tags: '[]',
    cpu_request: null,
    memory_request: null,
    saved_ms: null,
    ...over,
  };
}

describe('robustDuration', () => {
  it('is undefined without samples', () => {
    expect(robustDuration([])).toBeUndefined();
  });

  it('is the median, so one outlier does not move it', () => {
    expect(robustDuration([100, 100, 10_000])).toBe(100);
    expect(robustDuration([100, 110, 90, 60_000, 105])).toBe(105);
    expect(robustDuration([100, 200])).toBe(150);
  });

  it('follows a real change once recent samples agree (newest first)', () => {
    const newer = Array(10).fill(500);
    const older = Array(20).fill(100);
    expect(robustDuration([...newer, ...older])).toBe(500);
  });

  it('does not reorder the caller array', () => {
    const xs = [300, 100, 200];
    robustDuration(xs);
    expect(xs).toEqual([300, 100, 200]);
  });
});

describe('predictTask', () => {
  it('uses the prior for a task never seen', () => {
    const p = predictTask(taskConfig(), [], 1234);
    expect(p).toMatchObject({ durationMs: 1234, samples: 0, cpu: 1 });
  });

  it('learns the duration from history', () => {
    const p = predictTask(taskConfig(), [row(400), row(500), row(600)], 1000);
    expect(p.durationMs).toBe(500);
    expect(p.samples).toBe(3);
  });

  it('declared resources win over learned ones', () => {
    const rows = [row(1000, { cpu_seconds: 4, peak_rss_bytes: GiB })];
    const p = predictTask(taskConfig({ resources: { cpu: 2, memory: 3 * GiB } }), rows, 1000);
    expect(p.cpu).toBe(2);
    expect(p.memory).toBe(3 * GiB);
  });

  it('learns cpu (cores used) and memory (peak RSS with headroom) when not declared', () => {
    const rows = [row(1000, { cpu_seconds: 3, peak_rss_bytes: GiB })];
    const p = predictTask(taskConfig(), rows, 1000);
    expect(p.cpu).toBe(3);
    expect(p.memory).toBeGreaterThanOrEqual(GiB);
  });

  it('without resource samples asks for one cpu and no memory', () => {
    const p = predictTask(taskConfig(), [row(1000)], 1000);
    expect([p.cpu, p.memory]).toEqual([1, 0]);
  });

  it('sizes memory by the right-sizing rule (p90 × 1.15), as analyze does', () => {
    const rows = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((g) => row(1000, { peak_rss_bytes: g * GiB }));
    const p = predictTask(taskConfig(), rows, 1000);
    expect(Number.isInteger(p.memory)).toBe(true);
    expect(p.memory).toBeCloseTo(9.1 * GiB * 1.15, -1);
    expect(vpaTarget(rows.map((r) => r.peak_rss_bytes!))).toBeCloseTo(9.1 * GiB * 1.15, 0);
    expect(vpaTarget([])).toBeUndefined();
  });

  it('asks for at least one cpu even for an idle task (sleep)', () => {
    const p = predictTask(taskConfig(), [row(1000, { cpu_seconds: 0.01 })], 1000);
    expect(p.cpu).toBe(1);
  });
});

describe('simTasks', () => {
  it('maps predictions onto the graph and clamps to the pool', () => {
    const g = TaskGraph.fromEdges({ a: [], b: ['a'] });
    const preds = new Map<string, Prediction>([
      ['a', { durationMs: 100, cpu: 8, memory: 0, samples: 1 }],
      ['b', { durationMs: 200, cpu: 1, memory: 0, samples: 0 }],
    ]);
    const ts = simTasks(g, preds, { slots: 2, cpu: 2, memory: GiB });
    expect(ts.find((t) => t.id === 'a')).toMatchObject({ durationMs: 100, cpu: 2, needs: [] });
    expect(ts.find((t) => t.id === 'b')).toMatchObject({ durationMs: 200, cpu: 1, needs: ['a'] });
  });
});
