/** A seeded random source, so every bench graph is the same on every machine. */
import { mulberry32, normal } from '../../src/analyze/random.js';

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  /** Log-normal with the given median and sigma (of the underlying normal). */
  logNormal(median: number, sigma: number): number;
  shuffle<T>(items: T[]): T[];
}

/** mulberry32 (src/analyze/random.ts): tiny, fast, and good enough for picking graph shapes. */
export function seeded(seed: number): Random {
  const next = mulberry32(seed);
  const gauss = normal(next);
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    logNormal: (median, sigma) => median * Math.exp(sigma * gauss()),
    shuffle<T>(items: T[]): T[] {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [items[i], items[j]] = [items[j] as T, items[i] as T];
      }
      return items;
    },
  };
}
