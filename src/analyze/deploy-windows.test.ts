/** Deploy-window advice from history: hours ranked with their samples, a window only from enough data. */
import { describe, expect, it } from 'vitest';
import { run, task } from '../../test/analyze/fixtures.js';
import { windowAdvice } from './deploy-windows.js';
import type { Deployment } from './deployments.js';

const HOUR = 3_600_000;
const MONDAY = Date.parse('2026-11-02T00:00:00Z'); // a Monday

function deploy(i: number, hourOfWeek: number, week: number, over: Partial<Deployment> = {}): Deployment {
  return {
    id: `d${i}`,
    environment: 'prod',
    status: 'success',
    startedAt: MONDAY + week * 168 * HOUR + hourOfWeek * HOUR + 60_000,
    durationMs: 60_000,
    source: 'deployments',
    ...over,
  };
}

describe('windowAdvice', () => {
  it('says few samples are few and recommends nothing', () => {
    const a = windowAdvice([deploy(1, 2, 0), deploy(2, 2, 1)], []);
    expect(a.recommended).toBeNull();
    expect(a.note).toMatch(/too few samples .*2 in 1 hour/);
    expect(a.worst).toEqual([]); // 2 samples is below the hour minimum
    expect(a.hours).toEqual([expect.objectContaining({ label: 'Mon 02:00', samples: 2, deployments: 2 })]);
  });

  it('ranks the hour that fails and drags worst, and recommends a calm block', () => {
    const ds: Deployment[] = [];
    let i = 0;
    // Eight weeks: Tue 14:00-17:00 slow and failing, four other blocks calm.
    for (let week = 0; week < 8; week++) {
      for (const h of [24 + 14, 24 + 15, 24 + 16])
        ds.push(
          deploy(i++, h, week, week % 2 ? { status: 'failed', durationMs: 10_000 } : { durationMs: 150_000 }),
        );
      for (const h of [2, 3, 4, 50, 51, 52, 98, 99, 100, 146, 147, 148])
        ds.push(deploy(i++, h, week, { durationMs: h === 3 ? 50_000 : 60_000 }));
    }
    const a = windowAdvice(ds, []);
    expect(a.worst[0]).toMatchObject({ label: 'Tue 14:00', samples: 8, failures: 4 });
    expect(a.worst[0]!.slowdown).toBeCloseTo(2.5);
    expect(a.recommended?.window).toBe('Mon 02:00-05:00 UTC');
    expect(a.recommended?.failureRate).toBe(0);
    expect(a.note).toBeNull();
  });

  it('counts only the heavy quarter of runs', () => {
    const runs = Array.from({ length: 8 }, (_, k) =>
      run(`r${k}`, MONDAY + k * HOUR, [task('t', MONDAY + k * HOUR, 1000, { cpuSeconds: k < 6 ? 1 : 50 })]),
    );
    const a = windowAdvice([], runs);
    expect(a.heavyRuns).toBe(2);
    expect(a.heavyRule).toMatch(/CPU-seconds/);
  });
});
