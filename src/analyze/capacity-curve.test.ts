import { describe, expect, it } from 'vitest';
import { capacityCurve, kneeIndex } from './capacity-curve.js';

describe('capacity curve', () => {
  it('costs each capacity per run', () => {
    const rows = capacityCurve(
      [
        { cpus: 2, makespanMs: 1_800_000 },
        { cpus: 1, makespanMs: 3_600_000 },
      ],
      0.05,
    );
    expect(rows.map((r) => r.cpus)).toEqual([1, 2]);
    // 1 cpu for 1 h and 2 cpus for 0.5 h both cost 0.05.
    expect(rows[0]!.costPerRun).toBeCloseTo(0.05, 10);
    expect(rows[1]!.costPerRun).toBeCloseTo(0.05, 10);
    expect(rows[1]!.speedup).toBeCloseTo(2, 10);
    expect(rows[1]!.efficiency).toBeCloseTo(1, 10);
    expect(rows[0]!.costPerRun).toBeDefined();
    expect(capacityCurve([{ cpus: 1, makespanMs: 5 }])[0]!.costPerRun).toBeUndefined();
  });

  it('marks the knee where the critical path stops the gains', () => {
    const rows = capacityCurve([
      { cpus: 1, makespanMs: 16_000 },
      { cpus: 2, makespanMs: 8_000 },
      { cpus: 4, makespanMs: 5_000 },
      { cpus: 8, makespanMs: 4_800 },
      { cpus: 16, makespanMs: 4_800 },
    ]);
    expect(rows.filter((r) => r.knee).map((r) => r.cpus)).toEqual([4]);
  });

  it('has no knee on a flat curve or with too few points', () => {
    expect(
      kneeIndex([
        { cpus: 1, makespanMs: 10 },
        { cpus: 2, makespanMs: 10 },
        { cpus: 4, makespanMs: 10 },
      ]),
    ).toBeUndefined();
    expect(
      kneeIndex([
        { cpus: 1, makespanMs: 10 },
        { cpus: 2, makespanMs: 5 },
      ]),
    ).toBeUndefined();
  });
});
