/**
 * The origin's scan of a new chunk against a base's block checksums (wire-delta.ts) in plain
 * JavaScript: where WebAssembly cannot run delta-scan.ts $scan, and the reference its test checks
 * it against. Slides rsync's weak rolling checksum one byte at a time, looks a window up only where
 * its high half occurs in the base, confirms with the strong byte and extends a match block by block.
 */
import { ENTRY, entryOf, keyOf, sumsOf, weakOf } from './delta-sums.js';

/**
 * Which high halves (b) of the base's weak checksums occur, for scanJs: one table for every
 * call (matching is synchronous), its marks cleared after each. A fresh 64 KiB table per chunk
 * was 27 MB of zeroed allocations for the 200 MB file's 10% edit, for the collector to chase.
 */
const seen = new Uint8Array(65536);

/**
 * The copies and literals of `data` against the `n` entries of `sums` (blocks of `block` bytes):
 * triples (literal bytes, first base block, block count), the last with a count of 0; undefined
 * when no block matches.
 */
export function scanJs(data: Buffer, block: number, sums: Buffer, n: number): number[] | undefined {
  const slide = jsSlide(data, block);
  const byWeak = new Map<number, number[]>();
  // Bytes read by hand, not readUIntBE/readUInt16BE: those go through argument checks and a
  // dispatch on the length, ~10 ms of the origin's CPU over the 200 MB file's 1% edit.
  for (let i = 0; i < n; i++) {
    const at = i * ENTRY;
    const w = (sums[at]! << 16) | (sums[at + 1]! << 8) | sums[at + 2]!;
    const list = byWeak.get(w);
    if (list) list.push(i);
    else byWeak.set(w, [i]);
    slide.mark(w >>> 8, 1);
  }
  try {
    return scan(data, block, sums, n, byWeak, slide);
  } finally {
    for (let i = 0; i < n; i++) slide.mark((sums[i * ENTRY]! << 8) | sums[i * ENTRY + 1]!, 0);
  }
}

/** The slide's loops over one new chunk in JavaScript, where WebAssembly cannot run $scan. */
interface Slide {
  /** Marks or clears a weak high half of the base (the table roll() stops at). */
  mark(b: number, on: 0 | 1): void;
  /** roll() from `i` (a window with halves `a` and `b`) until a marked half or past `last`. */
  roll(i: number, last: number, a: number, b: number): number;
  /** The packed entry (entryOf) of the block at `at`. */
  entry(at: number): number;
}

function jsSlide(data: Buffer, block: number): Slide {
  return {
    mark: (b, on) => {
      seen[b] = on;
    },
    roll: (i, last, a, b) => roll(data, block, i, last, a, b),
    entry: (at) => entryOf(sumsOf(data, at, block)),
  };
}

/** The rolling checksum's halves where roll() stopped: a, then b. */
const rolled = new Int32Array(2);

/**
 * Rolls the window `[i, i + block)` of `data` one byte at a time from `i` (whose checksum halves
 * are `a` and `b`) until its high half `b` was seen in the base (`seen`), or past `last`; returns
 * where it stopped (`last + 1` when nowhere), with that window's halves in `rolled`. The slide's
 * inner loop on its own, without calls or maps: a cold deployer (each deploy a fresh process)
 * has it optimized within its first chunk and never loses that again. Inside scan(), the loop was
 * compiled before any window hit and thrown away at the first one (no type feedback for the
 * calls there), and the chunks meanwhile rolled in the interpreter: ~80 ms of the origin's CPU
 * for the 150 changed chunks of the 200 MB file's 1% edit.
 */
function roll(data: Uint8Array, block: number, i: number, last: number, a: number, b: number): number {
  while (seen[b] !== 1) {
    if (i >= last) {
      i = last + 1;
      break;
    }
    // Drop data[i], take data[i + block].
    const out = data[i]!;
    a = (a - out + data[i + block]!) & 0xffff;
    b = (b - Math.imul(block, out) + a) & 0xffff;
    i++;
  }
  rolled[0] = a;
  rolled[1] = b;
  return i;
}

/** The packed entry of base block `k` (as readUInt32BE reads it, without its checks). */
function entryAt(sums: Buffer, k: number): number {
  const at = k * ENTRY;
  return ((sums[at]! << 24) | (sums[at + 1]! << 16) | (sums[at + 2]! << 8) | sums[at + 3]!) >>> 0;
}

/** scanJs' slide over `data`, with `seen` marked for the base's `n` blocks. */
function scan(
  data: Buffer,
  block: number,
  sums: Buffer,
  n: number,
  byWeak: Map<number, number[]>,
  slide: Slide,
): number[] | undefined {
  const ops: number[] = [];
  let litStart = 0;
  let matched = 0;
  // The window [i, i + block) rolls one byte at a time; a and b (each modulo 2^16) stay integer
  // locals, and the full checksum is looked up only where its high half (b) was seen in the base.
  // Not a: a block's byte sum spreads over a few thousand values only (1 KiB of noise: about
  // 130,560 +- 2,400, modulo 2^16), so `seen[a]` sent ~1% of positions to the map (86 of 410
  // samples of this loop on the 200 MB file's 10% edit); b, weighted by position, is uniform.
  const last = data.length - block;
  let w0 = weakOf(data, 0, block);
  let a = w0 & 0xffff;
  let b = w0 >>> 16;
  let i = 0;
  while (i <= last) {
    i = slide.roll(i, last, a, b);
    if (i > last) break;
    a = rolled[0]!;
    b = rolled[1]!;
    const list = byWeak.get(keyOf(a, b));
    let hit = -1;
    if (list) {
      const strong = slide.entry(i) & 0xff;
      for (const k of list) if (sums[k * ENTRY + 3] === strong) hit = k;
    }
    if (hit >= 0) {
      // Extend over the following base blocks while they keep matching.
      let count = 1;
      while (
        hit + count < n &&
        i + (count + 1) * block <= data.length &&
        slide.entry(i + count * block) === entryAt(sums, hit + count)
      )
        count++;
      ops.push(i - litStart, hit, count);
      matched += count;
      i += count * block;
      litStart = i;
      if (i <= last) {
        w0 = weakOf(data, i, block);
        a = w0 & 0xffff;
        b = w0 >>> 16;
      }
      continue;
    }
    // No block here after all: roll one byte on (roll() stops again at once otherwise).
    if (i < last) {
      const out = data[i]!;
      a = (a - out + data[i + block]!) & 0xffff;
      b = (b - Math.imul(block, out) + a) & 0xffff;
    }
    i++;
  }
  if (matched === 0) return undefined;
  ops.push(data.length - litStart, 0, 0);
  return ops;
}

/**
 * The count of each byte value among every `stride`th literal byte of a match's `ops` (triples:
 * literal bytes, first block, blocks), and how many were counted: wire-delta.ts's noise test
 * where the scan gave no sample of its own, and the WebAssembly sample's reference.
 */
export function sampleJs(
  data: Uint8Array,
  ops: ArrayLike<number>,
  block: number,
  stride: number,
): { counts: Uint32Array; n: number } {
  const counts = new Uint32Array(256);
  let n = 0;
  let at = 0;
  // `skip` carries the stride across literal runs, so a run shorter than it is not oversampled.
  let skip = 0;
  for (let k = 0; k < ops.length; k += 3) {
    const end = at + ops[k]!;
    let i = at + skip;
    for (; i < end; i += stride) {
      counts[data[i]!]!++;
      n++;
    }
    skip = i - end;
    at = end + ops[k + 2]! * block;
  }
  return { counts, n };
}
