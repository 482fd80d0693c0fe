/**
 * The two hot loops of chunk deltas (wire-delta.ts, delta-sums.ts) as small WebAssembly functions
 * over bytes copied into their own memory: a block's packed entry (both checksums, as entryOf
 * packs sumsOf's) and the rolling slide to the next window whose weak high half the base has.
 * In JavaScript they were most of an edit's delta CPU on both sides: on the 200 MB file's 10%
 * edit the agent's checksums of 36 MB of bases (~80 ms) and the origin's slide and block checks
 * over 35 MB of new chunks (~140 ms, in a fresh process whose loops start interpreted). Same
 * arithmetic, same results: delta-scan.test.ts compares both with the JavaScript functions.
 * Measured here: the checksums ~0.65 ns a byte from a cold start (the JavaScript loop 1.4-2).
 * The origin's whole scan of a chunk is one call ($scan, with the base's entries chained by weak
 * high half in the memory): in JavaScript around the two loops, its maps, closures and per-hit
 * calls were compiled by TurboFan in each fresh deployer (~130 ms of background CPU for code that
 * then ran ~50 ms on the 200 MB file's 1% edit; cold scan and delta CPU 102 -> 71 ms there).
 *
 * The module, its memory's layout and the text-format description of its functions:
 * delta-scan-module.ts.
 */
import { COUNTS, DATA, moduleBytes, PAGE, SCAN_BLOCKS, SEEN, SUMS } from './delta-scan-module.js';
import { wasm } from './wasm-binary.js';

export { SCAN_BLOCKS };

/** The loops over bytes in their memory, at `DATA` on. */
export interface DeltaScanner {
  /** Copies `bytes` into the memory at `DATA`, growing it as needed; their offset there. */
  load(bytes: Uint8Array): number;
  /** entryOf(sumsOf(bytes, at, n)) of the bytes loaded, at `at` of them. */
  entry(at: number, n: number): number;
  /** Marks (1) or clears (0) a weak high half in the slide's table. */
  mark(b: number, on: 0 | 1): void;
  /**
   * delta-scan-js.ts roll() over the bytes loaded: returns where the slide stopped, the window's
   * halves in `rolled`.
   */
  roll(block: number, i: number, last: number, a: number, b: number, rolled: Int32Array): number;
  /**
   * delta-scan-js.ts scanJs() over the `len` bytes loaded, against the `n` entries of `sums` (at most
   * SCAN_BLOCKS): its triples (literal bytes, first base block, block count), the last with a
   * count of 0; undefined when no block matched.
   */
  scan(len: number, block: number, sums: Uint8Array, n: number): Int32Array | undefined;
  /**
   * The count of each byte value among every `stride`th byte of the last scan's literals (the
   * stride carried across their runs), and how many were counted: a view, valid until the next call.
   */
  sample(stride: number): { counts: Uint32Array; n: number };
}

let made: DeltaScanner | null | undefined;

/** The scanner of this thread (one memory, reused), or undefined without WebAssembly. */
export function deltaScanner(): DeltaScanner | undefined {
  if (made === undefined) made = makeScanner();
  return made ?? undefined;
}

function makeScanner(): DeltaScanner | null {
  if (!wasm) return null;
  try {
    const mod = new wasm.Module(moduleBytes());
    const memory = new wasm.Memory({ initial: DATA / PAGE + 4 });
    const instance = new wasm.Instance(mod, { e: { m: memory } });
    const entry = instance.exports.entry as (p: number, n: number) => number;
    const roll = instance.exports.roll as (...args: number[]) => number;
    const scan = instance.exports.scan as (len: number, block: number, n: number, ops: number) => number;
    const sample = instance.exports.sample as (
      ops: number,
      nops: number,
      block: number,
      stride: number,
    ) => number;
    // The last scan's triples, for sample().
    let last = { ops: 0, count: 0, block: 1 };
    // Views of the memory, made again when it grows (its buffer is then a new one).
    let bytes = new Uint8Array(memory.buffer);
    let words = new Int32Array(memory.buffer, 0, 1);
    const room = (need: number) => {
      if (need <= bytes.length) return;
      memory.grow(Math.ceil((need - bytes.length) / PAGE));
      bytes = new Uint8Array(memory.buffer);
      words = new Int32Array(memory.buffer, 0, 1);
    };
    return {
      load(data) {
        room(DATA + data.length);
        bytes.set(data, DATA);
        return DATA;
      },
      scan(len, block, sums, n) {
        if (n > SCAN_BLOCKS || block < 1 || len < block) return undefined;
        // The triples after the bytes: one per match at most, a match at least a block.
        const ops = DATA + ((len + 7) & ~7);
        room(ops + 12 * (Math.floor(len / block) + 2));
        bytes.set(sums.subarray(0, n * 4), SUMS);
        const count = scan(len, block, n, ops);
        last = { ops, count, block };
        return count === 0 ? undefined : new Int32Array(memory.buffer, ops, count * 3).slice();
      },
      sample(stride) {
        const n = sample(last.ops, last.count, last.block, stride);
        return { counts: new Uint32Array(memory.buffer, COUNTS, 256), n };
      },
      entry: (at, n) => entry(DATA + at, n) >>> 0,
      mark(b, on) {
        bytes[SEEN + b] = on;
      },
      roll(block, i, last, a, b, rolled) {
        const stop = roll(DATA, block, i, last, a, b);
        const both = words[0]!;
        rolled[0] = both & 0xffff;
        rolled[1] = both >>> 16;
        return stop;
      },
    };
  } catch {
    return null;
  }
}
