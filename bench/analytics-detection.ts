/**
 * Change-point detection quality on seeded series: recall of known shifts and false findings on
 * series without one. Pure computation, no processes.
 */
import { detectChangePoints } from '../src/analyze/change-points.js';
import { mulberry32, shiftedSeries } from '../src/analyze/random.js';
import type { BenchRow } from './lib/row.js';

const LENGTH = 120;
const NOISE = 0.05;
/** A finding this close to the true change counts as finding it. */
const TOLERANCE = 5;

/** Recall per shift size and false findings per 1,000 points. */
export function benchDetection(quick: boolean): BenchRow[] {
  const rows: BenchRow[] = [];
  const perShift = quick ? 60 : 400;
  const flatSeries = quick ? 100 : 1000;
  let spurious = 0;
  let shiftedPoints = 0;
  for (const shift of [0.1, 0.15, 0.2, -0.1]) {
    const where = mulberry32(1000 + Math.round(shift * 100));
    let hit = 0;
    let exact = 0;
    for (let i = 0; i < perShift; i++) {
      // The change anywhere from run 20 to run 100 of 120.
      const at = 20 + Math.floor(where() * (LENGTH - 40));
      const z = shiftedSeries({
        seed: 10_000 * (i + 1) + Math.round(shift * 1000),
        length: LENGTH,
        noise: NOISE,
        shift,
        at,
      });
      const cps = detectChangePoints(z);
      const near = cps.filter((c) => Math.abs(c.index - at) <= TOLERANCE);
      if (near.length) hit++;
      if (cps.some((c) => Math.abs(c.index - at) <= 2)) exact++;
      spurious += cps.length - Math.min(1, near.length);
      shiftedPoints += LENGTH;
    }
    const label = `${shift > 0 ? '+' : ''}${Math.round(shift * 100)}% shift, 5% noise, n=${perShift}`;
    const recall = hit / perShift;
    rows.push({
      suite: 'analytics',
      case: label,
      metric: 'recall (±5 runs)',
      value: recall,
      target: '>= 0.95',
      pass: recall >= 0.95,
    });
    rows.push({
      suite: 'analytics',
      case: label,
      metric: 'recall (±2 runs)',
      value: exact / perShift,
      note: 'location within two runs (informational)',
    });
  }
  let falseFindings = 0;
  for (let i = 0; i < flatSeries; i++) {
    falseFindings += detectChangePoints(
      shiftedSeries({ seed: 777_000 + i, length: LENGTH, noise: NOISE }),
    ).length;
  }
  const perK = (falseFindings / (flatSeries * LENGTH)) * 1000;
  rows.push({
    suite: 'analytics',
    case: `flat series, 5% noise, ${flatSeries} × ${LENGTH} runs`,
    metric: 'false findings / 1000 runs',
    value: perK,
    target: '<= 1',
    pass: perK <= 1,
    note: `${falseFindings} findings`,
  });
  rows.push({
    suite: 'analytics',
    case: 'shifted series: findings away from the change',
    metric: 'false findings / 1000 runs',
    value: (spurious / shiftedPoints) * 1000,
    target: '<= 1',
    pass: (spurious / shiftedPoints) * 1000 <= 1,
    note: `${spurious} findings more than ${TOLERANCE} runs off`,
  });
  return rows;
}
