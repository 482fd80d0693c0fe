/**
 * Seeded performance series with known change points, for the change-point benchmark: single
 * steps of ±5/10/20/50% at 2/5/10% Gaussian noise, isolated 2-3× outliers, 3-4-run load bursts,
 * slow drift, several change points, flat series; lengths 30-2,000.
 */
import { mulberry32, normal } from '../src/analyze/random.js';

export type Family = 'step' | 'outliers' | 'bursts' | 'drift' | 'multi' | 'flat';

export interface BenchSeries {
  family: Family;
  z: number[];
  /** Indexes of the true change points (first point of each new regime). */
  truth: number[];
  noise: number;
  /** Relative size of the step (family `step` only). */
  step?: number;
}

const LENGTHS = [30, 60, 120, 250, 500, 1000, 2000];
const BASE = 100;

/** A series of piecewise-constant levels with relative Gaussian noise. */
function levels(
  g: () => number,
  length: number,
  noise: number,
  changes: readonly { at: number; level: number }[],
): number[] {
  const z: number[] = [];
  let level = BASE;
  let next = 0;
  for (let i = 0; i < length; i++) {
    while (next < changes.length && changes[next]!.at <= i) level = changes[next++]!.level;
    z.push(level * (1 + noise * g()));
  }
  return z;
}

/** The benchmark's series; `scale` 1 gives about 350 series. */
export function benchSeries(scale = 1): BenchSeries[] {
  const out: BenchSeries[] = [];
  const u = mulberry32(20261205);
  const g = normal(mulberry32(7));
  const int = (lo: number, hi: number) => lo + Math.floor(u() * (hi - lo + 1));
  const reps = Math.max(1, Math.round(8 * scale));
  let k = 0;
  for (const size of [0.05, 0.1, 0.2, 0.5])
    for (const sign of [1, -1])
      for (const noise of [0.02, 0.05, 0.1])
        for (let r = 0; r < reps; r++) {
          const length = LENGTHS[k++ % LENGTHS.length]!;
          const margin = Math.max(10, Math.round(length * 0.15));
          const at = int(margin, length - margin);
          const step = sign * size;
          const z = levels(g, length, noise, [{ at, level: BASE * (1 + step) }]);
          out.push({ family: 'step', z, truth: [at], noise, step });
        }
  const few = Math.max(2, Math.round(30 * scale));
  for (let r = 0; r < few; r++) {
    // Isolated outliers at 2-3× the level, one in a hundred points; half the series also step.
    const length = LENGTHS[k++ % LENGTHS.length]!;
    const noise = [0.02, 0.05][r % 2]!;
    const at = r % 2 ? int(15, length - 15) : -1;
    const z = levels(g, length, noise, at >= 0 ? [{ at, level: BASE * 1.2 }] : []);
    for (let i = 0; i < Math.max(1, Math.round(length / 100)); i++) {
      const p = int(0, length - 1);
      if (at < 0 || Math.abs(p - at) > 5) z[p] = z[p]! * (2 + u());
    }
    out.push({ family: 'outliers', z, truth: at >= 0 ? [at] : [], noise });
  }
  for (let r = 0; r < few; r++) {
    // Load bursts: 3-4 consecutive runs 30-100% slower, every 40-80 runs, back to the same level.
    const length = LENGTHS[1 + (k++ % (LENGTHS.length - 1))]!;
    const noise = [0.02, 0.05][r % 2]!;
    const z = levels(g, length, noise, []);
    for (let p = int(10, 40); p + 4 < length - 5; p += int(40, 80)) {
      const len = int(3, 4);
      const factor = 1.3 + 0.7 * u();
      for (let i = p; i < p + len; i++) z[i] = z[i]! * factor;
    }
    out.push({ family: 'bursts', z, truth: [], noise });
  }
  for (let r = 0; r < Math.max(2, Math.round(20 * scale)); r++) {
    // Drift: the level creeps 10-20% over the whole series (no step to find).
    const length = LENGTHS[2 + (k++ % (LENGTHS.length - 2))]!;
    const noise = [0.02, 0.05][r % 2]!;
    const total = 0.1 + 0.1 * u();
    const z = Array.from({ length }, (_, i) => BASE * (1 + (total * i) / length) * (1 + noise * g()));
    out.push({ family: 'drift', z, truth: [], noise });
  }
  for (let r = 0; r < Math.max(2, Math.round(40 * scale)); r++) {
    // Two to four change points of ±10-30%, regimes of at least 25 runs.
    const length = [250, 500, 1000, 2000][r % 4]!;
    const noise = [0.02, 0.05][r % 2]!;
    const count = int(2, 4);
    const truth: number[] = [];
    let at = 0;
    for (let c = 0; c < count; c++) {
      at += int(25, Math.max(26, Math.floor(length / (count + 1))));
      if (at > length - 25) break;
      truth.push(at);
    }
    let level = BASE;
    const changes = truth.map((t) => {
      const size = (0.1 + 0.2 * u()) * (u() < 0.5 ? -1 : 1);
      level = level * (1 + size);
      return { at: t, level };
    });
    out.push({ family: 'multi', z: levels(g, length, noise, changes), truth, noise });
  }
  for (let r = 0; r < Math.max(2, Math.round(40 * scale)); r++) {
    const length = LENGTHS[k++ % LENGTHS.length]!;
    const noise = [0.02, 0.05, 0.1][r % 3]!;
    out.push({ family: 'flat', z: levels(g, length, noise, []), truth: [], noise });
  }
  return out;
}

/** A long series: a step of +20% or −15% every 2,000-4,000 runs at 5% noise, seeded. */
export function longSeries(length: number, seed: number): BenchSeries {
  const u = mulberry32(seed);
  const g = normal(mulberry32(seed + 1));
  const truth: number[] = [];
  const changes: { at: number; level: number }[] = [];
  let level = BASE;
  for (let at = 2000 + Math.floor(u() * 2000); at < length - 500; at += 2000 + Math.floor(u() * 2000)) {
    level *= truth.length % 2 ? 1 / 1.2 : 1.2;
    truth.push(at);
    changes.push({ at, level });
  }
  return { family: 'multi', z: levels(g, length, 0.05, changes), truth, noise: 0.05 };
}

/** Found change points matched to true ones within `tolerance`: hits per true point and false findings. */
export function score(
  truth: readonly number[],
  found: readonly number[],
  tolerance: number,
): { hits: boolean[]; falseFindings: number } {
  const used = new Set<number>();
  const hits = truth.map(() => false);
  let falseFindings = 0;
  for (const f of found) {
    let best = -1;
    for (let i = 0; i < truth.length; i++) {
      if (used.has(i) || Math.abs(truth[i]! - f) > tolerance) continue;
      if (best < 0 || Math.abs(truth[i]! - f) < Math.abs(truth[best]! - f)) best = i;
    }
    if (best < 0) falseFindings++;
    else {
      used.add(best);
      hits[best] = true;
    }
  }
  return { hits, falseFindings };
}
