import { describe, expect, it } from 'vitest';
import { run, task } from '../../test/analyze/fixtures.js';
import { quantile } from '../util/quantile.js';
import { cacheStats, coveredMs, cpuUtilization, parallelEfficiency, performanceMetrics } from './metrics.js';
import { summarize } from './stats.js';

describe('metrics', () => {
  it('percentiles interpolate between ranks', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10, 20, 30, 40, 50], 0.95)).toBeCloseTo(48, 10);
    // No samples is no answer (not a plausible 0), and q is clamped to 0..1.
    expect(quantile([], 0.9)).toBeNaN();
    expect(quantile([3, 1, 2], 1.5)).toBe(3);
    expect(quantile([3, 1, 2], -1)).toBe(1);
    const s = summarize([5, 1, 3]);
    expect([s.count, s.p50, s.max, s.mean]).toEqual([3, 3, 5, 3]);
    expect(summarize([]).count).toBe(0);
  });

  it('parallel efficiency is lower bound over actual', () => {
    expect(parallelEfficiency({ lowerBoundMs: 800, durationMs: 1000 })).toBeCloseTo(0.8, 12);
    expect(parallelEfficiency({ lowerBoundMs: null, durationMs: 1000 })).toBeUndefined();
  });

  it('CPU utilization is CPU time over capacity × wall time', () => {
    const r = run('a', 0, [task('x', 0, 1000, { cpuSeconds: 1 }), task('y', 0, 1000, { cpuSeconds: 0.5 })]);
    expect(cpuUtilization(r)).toBeCloseTo(0.75, 12);
  });

  it('per-tag duration is the wall time covered, not the sum', () => {
    // Two overlapping builds (0–1000, 500–1500) and a later one (2000–2500): 1500 + 500.
    expect(coveredMs([task('a', 0, 1000), task('b', 500, 1000), task('c', 2000, 500)])).toBe(2000);
  });

  it('cache hit rate and time saved', () => {
    const runs = [
      run('1', 0, [task('a', 0, 1000), task('b', 0, 10, { cache: 'hit-local', savedMs: 900 })]),
      run('2', 5000, [
        task('a', 5000, 10, { cache: 'hit-remote', savedMs: 950 }),
        task('c', 5000, 100, { cache: 'disabled' }),
      ]),
    ];
    const c = cacheStats(runs);
    expect(c.hits).toBe(2);
    expect(c.misses).toBe(1);
    expect(c.hitRate).toBeCloseTo(2 / 3, 12);
    expect(c.savedMs).toBe(1850);
    expect(c.savedPerRunMs).toBe(925);
  });

  it('summarizes a window: totals, tags, throughput, quality', () => {
    const H = 3_600_000;
    const runs = [
      run(
        '1',
        0,
        [task('b', 0, 1000, { tags: ['build'] }), task('t', 1000, 500, { tags: ['test'], attempts: 2 })],
        {
          lowerBoundMs: 1200,
        },
      ),
      run('2', H, [task('b', H, 2000, { tags: ['build'] }), task('t', H + 2000, 500, { tags: ['test'] })], {
        lowerBoundMs: 2500,
      }),
      run('3', 2 * H, [task('b', 2 * H, 100, { status: 'failed' })], { status: 'failed' }),
    ];
    const m = performanceMetrics({ runs, deployments: [], from: 0, to: 2 * H, regressions: 1 });
    expect(m.pipelineMetrics.total.count).toBe(2);
    expect(m.pipelineMetrics.total.p50).toBe(2000);
    expect(m.pipelineMetrics.byTag.build!.p50).toBe(1500);
    expect(m.pipelineMetrics.byTag.test!.max).toBe(500);
    expect(m.throughputMetrics.runsPerHour).toBeCloseTo(1.5, 12);
    expect(m.throughputMetrics.parallelExecutionEfficiency).toBeCloseTo((0.8 + 1) / 2, 12);
    expect(m.qualityMetrics.successRate).toBeCloseTo(2 / 3, 12);
    expect(m.qualityMetrics.failureRate).toBeCloseTo(1 / 3, 12);
    expect(m.qualityMetrics.retryRate).toBeCloseTo(1 / 5, 12);
    expect(m.qualityMetrics.performanceRegressionRate).toBeCloseTo(1 / 2, 12);
    expect(m.qualityMetrics.rollbackRate).toBeNull();
  });
});
