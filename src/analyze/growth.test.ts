/** Growth: trends, projections only as far as the history supports, capacity and cost. */
import { describe, expect, it } from 'vitest';
import { run, task } from '../../test/analyze/fixtures.js';
import { growthReport, linearFit } from './growth.js';
import type { RunRecord } from './history.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-09-01T00:00:00Z');

/** `days` of history: runsOn(d) runs on day d, each using cpuOn(d) CPU-seconds in 10 minutes on 4 cpus. */
function history(days: number, runsOn: (d: number) => number, cpuOn: (d: number) => number): RunRecord[] {
  const out: RunRecord[] = [];
  for (let d = 0; d < days; d++)
    for (let k = 0; k < runsOn(d); k++) {
      const at = T0 + d * DAY + k * 1_800_000;
      out.push(
        run(`r${d}-${k}`, at, [task('build', at, 600_000, { cpuSeconds: cpuOn(d) })], { capacityCpu: 4 }),
      );
    }
  return out;
}

describe('linearFit', () => {
  it('finds a clean slope and gives a flat series no significance', () => {
    const xs = [0, 1, 2, 3, 4, 5];
    const f = linearFit(
      xs,
      xs.map((x) => 3 + 2 * x),
    );
    expect(f.slope).toBeCloseTo(2);
    expect(f.p).toBeLessThan(1e-6);
    expect(linearFit(xs, [5, 5, 5, 5, 5, 5]).p).toBe(1);
  });
});

describe('growthReport', () => {
  it('says a short history is short and projects nothing', () => {
    const g = growthReport(
      history(
        3,
        () => 4,
        () => 100,
      ),
      { now: T0 + 3 * DAY },
    );
    expect(g.needs.every((n) => n.horizonDays === 0)).toBe(true);
    expect(g.runsPerDay?.significant).toBe(false);
    expect(g.notes.join(' ')).toMatch(/too little history for a trend/);
  });

  it('projects a growing history 30 and 90 days out into workers and cost', () => {
    // 60 days: runs per day grow from 10 by 0.5 a day; CPU per run from 1000 s by 10 s a day.
    const runs = history(
      60,
      (d) => 10 + Math.floor(d / 2),
      (d) => 1000 + 10 * d,
    );
    const now = T0 + 60 * DAY;
    const g = growthReport(runs, { now, costPerCpuHour: 0.05, targetUtilization: 0.5 });
    expect(g.runsPerDay?.significant).toBe(true);
    expect(g.runsPerDay?.slopePerDay).toBeCloseTo(0.5, 1);
    expect(g.cpuSecondsPerRun?.slopePerDay).toBeCloseTo(10, 0);
    expect(g.needs.map((n) => n.horizonDays)).toEqual([0, 30, 90]);
    const [now0, in30, in90] = g.needs as [(typeof g.needs)[0], (typeof g.needs)[0], (typeof g.needs)[0]];
    expect(now0.runsPerDay).toBeCloseTo(40, 0);
    expect(in90.runsPerDay).toBeCloseTo(85, 0);
    // CPU per run 1600 → 2500 s: the 4-cpu pool must grow by the same factor to keep the makespan.
    expect(in90.cpusPerRun).toBe(Math.ceil((4 * in90.cpuSecondsPerRun) / now0.cpuSecondsPerRun - 1e-9));
    // 85 runs a day of 10 minutes is 0.59 of a worker; at 50% that takes 2 workers.
    expect(in90.workers).toBe(2);
    expect(in30.cpus).toBeGreaterThanOrEqual(now0.cpus);
    expect(in90.costPerMonth).toBeCloseTo(in90.cpus * 730 * 0.05);
    expect(in90.utilization).toBeLessThanOrEqual(0.5);
  });

  it('projects only as far as twice the history: 20 days support 30, not 90', () => {
    const g = growthReport(
      history(
        20,
        (d) => 5 + d,
        () => 100,
      ),
      { now: T0 + 20 * DAY },
    );
    expect(g.needs.map((n) => n.horizonDays)).toEqual([0, 30]);
    expect(g.notes.join(' ')).toMatch(/no 90-day projection: it needs 45\+ days/);
  });

  it('projects a noisy flat history flat', () => {
    const noise = [3, -2, 1, -1, 2, -3, 0, 2, -2, 1];
    const g = growthReport(
      history(
        40,
        (d) => 20 + noise[d % 10]!,
        () => 500,
      ),
      { now: T0 + 40 * DAY },
    );
    expect(g.runsPerDay?.significant).toBe(false);
    expect(g.needs.at(-1)?.runsPerDay).toBeCloseTo(g.needs[0]!.runsPerDay);
  });
});
