/** The graph shapes the scheduler bench runs (all seeded, so every machine gets the same graphs). */
import type { BenchGraph, BenchPackage } from './graph.js';
import { seeded } from './random.js';

export interface ChainOptions {
  /** Slots the graph is tuned for: the independent work fills the other slots - 1 lanes. */
  slots: number;
  chainLength: number;
  chainTaskMs: number;
  leafMs: number;
  /** Measured per-task cost on top of the sleep (process start), used to size the leaf count. */
  overheadMs: number;
  /** Fraction of the (slots - 1) free lanes the leaves fill; below 1 keeps the chain the bound. */
  fill: number;
  seed: number;
}

/**
 * A long dependency chain among many short independent packages. The leaves' total work fills the
 * other slots - 1 lanes for as long as the chain runs, so the only way to reach the lower bound is
 * to keep the chain running all the time: a scheduler that lets leaves go first loses.
 * Names are shuffled so alphabetical or declaration order gives no hint.
 */
export function chainShape(o: ChainOptions): BenchGraph {
  const chainSpan = o.chainLength * (o.chainTaskMs + o.overheadMs);
  const leaves = Math.max(1, Math.round(((o.slots - 1) * chainSpan * o.fill) / (o.leafMs + o.overheadMs)));
  const rnd = seeded(o.seed);
  const ids = rnd.shuffle(Array.from({ length: o.chainLength + leaves }, (_, i) => i));
  const name = (i: number) => `pkg-${String(ids[i]).padStart(3, '0')}`;
  const packages: BenchPackage[] = [];
  for (let i = 0; i < o.chainLength; i++) {
    packages.push({ name: name(i), durationMs: o.chainTaskMs, deps: i === 0 ? [] : [name(i - 1)] });
  }
  for (let j = 0; j < leaves; j++) {
    packages.push({ name: name(o.chainLength + j), durationMs: o.leafMs, deps: [] });
  }
  packages.sort((a, b) => a.name.localeCompare(b.name));
  return { shape: 'chain', packages };
}

export interface LayeredOptions {
  layers: number;
  minWidth: number;
  maxWidth: number;
  medianMs: number;
  sigma: number;
  minMs: number;
  maxMs: number;
  seed: number;
}

/**
 * A random layered graph: each package depends on 1-3 packages of the layer above and sometimes
 * on one further up; durations are log-normal (a few long builds, many short ones).
 */
export function layeredShape(o: LayeredOptions): BenchGraph {
  const rnd = seeded(o.seed);
  const layers: string[][] = [];
  const packages: BenchPackage[] = [];
  let n = 0;
  for (let l = 0; l < o.layers; l++) {
    const width = rnd.int(o.minWidth, o.maxWidth);
    const layer: string[] = [];
    for (let k = 0; k < width; k++) {
      const name = `pkg-${String(n++).padStart(3, '0')}`;
      const deps = new Set<string>();
      const above = layers[l - 1];
      if (above) {
        const want = Math.min(above.length, rnd.int(1, 3));
        for (const d of rnd.shuffle([...above]).slice(0, want)) deps.add(d);
        const further = layers.slice(0, l - 1).flat();
        if (further.length > 0 && rnd.next() < 0.25)
          deps.add(further[rnd.int(0, further.length - 1)] as string);
      }
      const ms = Math.min(o.maxMs, Math.max(o.minMs, rnd.logNormal(o.medianMs, o.sigma)));
      packages.push({ name, durationMs: Math.round(ms / 10) * 10, deps: [...deps].sort() });
      layer.push(name);
    }
    layers.push(layer);
  }
  return { shape: 'layered', packages };
}
