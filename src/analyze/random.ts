/** A small seeded PRNG for reproducible test series and benchmarks (mulberry32 + Box–Muller). */

/** Uniform [0, 1) generator from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal generator built on a uniform one. */
export function normal(uniform: () => number): () => number {
  return () => {
    const u = 1 - uniform();
    const v = uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/**
 * A series of `length` points with mean `base`, relative Gaussian noise `noise` (0.05 = 5% of the
 * mean as standard deviation) and a relative `shift` from index `at` on.
 */
export function shiftedSeries(opts: {
  seed: number;
  length: number;
  base?: number;
  noise: number;
  shift?: number;
  at?: number;
}): number[] {
  const gauss = normal(mulberry32(opts.seed));
  const base = opts.base ?? 100;
  const at = opts.at ?? opts.length;
  const out: number[] = [];
  for (let i = 0; i < opts.length; i++) {
    const level = i >= at ? base * (1 + (opts.shift ?? 0)) : base;
    out.push(level + base * opts.noise * gauss());
  }
  return out;
}
