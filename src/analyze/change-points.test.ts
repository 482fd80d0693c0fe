import { describe, expect, it } from 'vitest';
import { detectChangePoints, largeEnough, mergeStep, splitStep } from './change-points.js';
import { EnergyCalculator } from './e-divisive.js';
import { energyProfile } from './energy-profile.js';
import { mulberry32, shiftedSeries } from './random.js';

/** Q̂ straight from its definition, to check the O(1) table form. */
function naiveQ(z: number[], s: number, tau: number, kappa: number): number {
  const x = z.slice(s, tau);
  const y = z.slice(tau, kappa);
  const n = x.length;
  const m = y.length;
  let cross = 0;
  for (const a of x) for (const b of y) cross += Math.abs(a - b);
  let wx = 0;
  for (let i = 0; i < n; i++) for (let k = i + 1; k < n; k++) wx += Math.abs(x[i]! - x[k]!);
  let wy = 0;
  for (let i = 0; i < m; i++) for (let k = i + 1; k < m; k++) wy += Math.abs(y[i]! - y[k]!);
  let q = (2 / (m + n)) * cross;
  if (n > 1) q -= ((2 * m) / ((m + n) * (n - 1))) * wx;
  if (m > 1) q -= ((2 * n) / ((m + n) * (m - 1))) * wy;
  return q;
}

describe('E-Divisive energy statistic', () => {
  it('the table form equals the definition', () => {
    const z = shiftedSeries({ seed: 3, length: 12, noise: 0.1, shift: 0.3, at: 6 });
    const calc = new EnergyCalculator(z);
    for (const [s, tau, kappa] of [
      [0, 1, 2],
      [0, 6, 12],
      [2, 5, 9],
      [3, 4, 12],
    ] as const) {
      expect(calc.qhat(s, tau, kappa)).toBeCloseTo(naiveQ(z, s, tau, kappa), 9);
    }
  });

  it('the best split of a clean step is the step', () => {
    const z = [1, 1, 1, 1, 1, 5, 5, 5, 5, 5];
    expect(new EnergyCalculator(z).bestSplit(0, z.length)?.index).toBe(5);
  });
});

describe('energy profile (O(L log L))', () => {
  it('equals the table form for every split, ties and repeated values included', () => {
    const u = mulberry32(9);
    for (const length of [2, 3, 7, 40, 123]) {
      // Values on a coarse grid so that many are equal.
      const z = Array.from({ length }, () => Math.round(u() * 8) + (u() < 0.3 ? 20 : 0));
      const calc = new EnergyCalculator(z);
      const q = energyProfile(z);
      expect(q[0]).toBe(Number.NEGATIVE_INFINITY);
      expect(q[length]).toBe(Number.NEGATIVE_INFINITY);
      for (let tau = 1; tau < length; tau++)
        expect(q[tau], `L=${length} τ=${tau}`).toBeCloseTo(calc.qhat(0, tau, length), 6);
    }
  });

  it('locates a step in a 20,000-point series', () => {
    const z = shiftedSeries({ seed: 4, length: 20_000, noise: 0.05, shift: 0.2, at: 12_345 });
    const q = energyProfile(z);
    let best = 1;
    for (let t = 1; t < z.length; t++) if (q[t]! > q[best]!) best = t;
    expect(Math.abs(best - 12_345)).toBeLessThanOrEqual(5);
  });
});

describe('change points (Otava split/merge)', () => {
  it('finds every step of a 20,000-point series and nothing far from them', () => {
    const levels = [100, 120, 100, 130, 110];
    const z = levels.flatMap((level, i) =>
      shiftedSeries({ seed: 50 + i, length: 4000, noise: 0.05, base: level }),
    );
    const cps = detectChangePoints(z);
    for (const at of [4000, 8000, 12000, 16000])
      expect(
        cps.some((c) => Math.abs(c.index - at) <= 5),
        `step at ${at}`,
      ).toBe(true);
    expect(cps.length).toBeLessThanOrEqual(4 + 20); // at most 1 per 1,000 points besides the steps
  });

  it('keeps a true 5% step measured just under 5% (the floor judged with its uncertainty)', () => {
    // Seeds where the measured change of a 5% step at 2% noise lands under 5%.
    for (const seed of [2, 6, 10, 14, 22]) {
      const z = shiftedSeries({ seed, length: 60, noise: 0.02, shift: 0.05, at: 30 });
      const cps = detectChangePoints(z);
      expect(cps, `seed ${seed}`).toHaveLength(1);
      expect(cps[0]!.magnitude).toBeLessThan(0.05);
      expect(Math.abs(cps[0]!.index - 30)).toBeLessThanOrEqual(2);
    }
  });

  it('judges the floor against the interval: a noisy small difference does not pass', () => {
    const cp = {
      index: 50,
      change: 0.045,
      magnitude: 0.045,
      meanBefore: 100,
      meanAfter: 104.5,
      t: 4,
      pValue: 0.0001,
      samplesBefore: 50,
      samplesAfter: 50,
    };
    // 2% noise: the 95% interval 4.5 ± 0.8% reaches 5% and its near end clears 2.5%.
    expect(largeEnough({ ...cp, stdBefore: 2, stdAfter: 2 }, 0.05)).toBe(true);
    // 10% noise: 4.5 ± 3.9%, whose near end (0.6%) is far below half the floor.
    expect(largeEnough({ ...cp, stdBefore: 10, stdAfter: 10 }, 0.05)).toBe(false);
    // Quiet but small: 4.5 ± 0.04% never reaches 5%.
    expect(largeEnough({ ...cp, stdBefore: 0.1, stdAfter: 0.1 }, 0.05)).toBe(false);
  });

  it('a load burst of 3-4 runs that returns to its level is not a regime; a short step that stays is', () => {
    const z = shiftedSeries({ seed: 61, length: 200, noise: 0.03 });
    for (const [at, len] of [
      [40, 3],
      [90, 4],
      [150, 4],
    ] as const)
      for (let i = at; i < at + len; i++) z[i] = z[i]! * 1.6;
    expect(detectChangePoints(z)).toEqual([]);
    // Without the burst rule (and with Otava's one-point regimes) the bursts come out as pairs.
    expect(detectChangePoints(z, { burstLength: 0, minSegment: 1 }).length).toBeGreaterThanOrEqual(4);

    // 100 → 130 for 4 runs → 160: the short regime does not return, both change points stay.
    const stairs = [
      ...shiftedSeries({ seed: 62, length: 60, noise: 0.02 }),
      ...shiftedSeries({ seed: 63, length: 4, noise: 0.02, base: 130 }),
      ...shiftedSeries({ seed: 64, length: 60, noise: 0.02, base: 160 }),
    ];
    expect(detectChangePoints(stairs).map((c) => c.index)).toEqual([60, 64]);
  });

  it('a regime of 5+ runs that returns is a regime (longer than a burst)', () => {
    const z = [
      ...shiftedSeries({ seed: 71, length: 60, noise: 0.02 }),
      ...shiftedSeries({ seed: 72, length: 8, noise: 0.02, base: 140 }),
      ...shiftedSeries({ seed: 73, length: 60, noise: 0.02 }),
    ];
    expect(detectChangePoints(z).map((c) => c.index)).toEqual([60, 68]);
  });

  it('finds a 15% shift at index 60 of 120 with 5% noise within ±2, p ≤ 0.001', () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const z = shiftedSeries({ seed, length: 120, noise: 0.05, shift: 0.15, at: 60 });
      const cps = detectChangePoints(z);
      expect(cps, `seed ${seed}`).toHaveLength(1);
      const cp = cps[0]!;
      expect(Math.abs(cp.index - 60), `seed ${seed}`).toBeLessThanOrEqual(2);
      expect(cp.pValue).toBeLessThanOrEqual(0.001);
      expect(cp.change).toBeGreaterThan(0.1);
      expect(cp.change).toBeLessThan(0.2);
      expect(cp.meanBefore).toBeCloseTo(100, -1);
      expect(cp.meanAfter).toBeCloseTo(115, -1);
    }
  });

  it('finds a slowdown followed by a recovery', () => {
    const a = shiftedSeries({ seed: 11, length: 60, noise: 0.03 });
    const b = shiftedSeries({ seed: 12, length: 40, noise: 0.03, base: 130 });
    const c = shiftedSeries({ seed: 13, length: 60, noise: 0.03 });
    const cps = detectChangePoints([...a, ...b, ...c]);
    expect(cps.map((c) => c.index)).toEqual([60, 100]);
    expect(cps[0]!.change).toBeGreaterThan(0);
    expect(cps[1]!.change).toBeLessThan(0);
  });

  it('flat noisy series give nothing', () => {
    for (let seed = 100; seed < 150; seed++) {
      const z = shiftedSeries({ seed, length: 120, noise: 0.01 });
      expect(detectChangePoints(z), `seed ${seed}`).toEqual([]);
    }
  });

  it('at 5% noise, flat series give under 1 false finding per 1,000 points', () => {
    // The t-test runs after E-Divisive chose the split, so it is optimistic; the merge step's
    // minimum magnitude keeps the rate low (the benchmark measures it over more series).
    let findings = 0;
    for (let seed = 200; seed < 300; seed++) {
      findings += detectChangePoints(shiftedSeries({ seed, length: 120, noise: 0.05 })).length;
    }
    expect(findings).toBeLessThanOrEqual(12);
  });

  it('a significant change below the minimum magnitude is dropped', () => {
    // 3% shift with 0.5% noise: highly significant, but smaller than the 5% default.
    const z = shiftedSeries({ seed: 21, length: 100, noise: 0.005, shift: 0.03, at: 50 });
    expect(detectChangePoints(z)).toEqual([]);
    expect(detectChangePoints(z, { minMagnitude: 0.01 }).map((c) => c.index)).toEqual([50]);
  });

  it('isolated outliers are not regimes', () => {
    const z = shiftedSeries({ seed: 41, length: 80, noise: 0.02 });
    z[40] = 160;
    z[41] = 150;
    z[79] = 170;
    expect(detectChangePoints(z)).toEqual([]);
    // Without the minimum regime length, Otava's procedure reports them.
    expect(detectChangePoints(z, { minSegment: 1 }).length).toBeGreaterThan(0);
  });

  it('short and constant series are safe', () => {
    expect(detectChangePoints([])).toEqual([]);
    expect(detectChangePoints([1, 2])).toEqual([]);
    expect(detectChangePoints(Array(80).fill(7))).toEqual([]);
    expect(detectChangePoints([...Array(30).fill(7), ...Array(30).fill(9)]).map((c) => c.index)).toEqual([
      30,
    ]);
  });

  it('refinement never moves a change point outside its neighbours', () => {
    const z = shiftedSeries({ seed: 31, length: 140, noise: 0.04, shift: 0.12, at: 77 });
    const raw = detectChangePoints(z, { refine: false });
    const refined = detectChangePoints(z);
    expect(refined).toHaveLength(raw.length);
    expect(Math.abs(refined[0]!.index - 77)).toBeLessThanOrEqual(Math.abs(raw[0]!.index - 77));
  });

  it('split collects weak points that merge removes', () => {
    const z = shiftedSeries({ seed: 5, length: 150, noise: 0.05, shift: 0.2, at: 90 });
    const weak = splitStep(z, 50, 0.01);
    expect(weak).toContain(mergeStep(z, weak, { maxPValue: 0.001, minMagnitude: 0.05 })[0]!.index);
    expect(weak.length).toBeGreaterThanOrEqual(1);
  });
});
