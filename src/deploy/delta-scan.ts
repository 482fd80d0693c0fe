/**
 * The two hot loops of chunk deltas (wire-delta.ts, delta-sums.ts) as small WebAssembly functions
 * over bytes copied into their own memory: a block's packed entry (both checksums, as entryOf
 * packs sumsOf's) and the rolling slide to the next window whose weak high half the base has.
 * In JavaScript they were most of an edit's delta CPU on both sides: on the 200 MB file's 10%
 * edit the agent's checksums of 36 MB of bases (~80 ms) and the origin's slide and block checks
 * over 35 MB of new chunks (~140 ms, in a fresh process whose loops start interpreted). Same
 * arithmetic, same results: delta-scan.test.ts compares both with the JavaScript functions.
 * Measured here: the checksums ~0.65 ns a byte from a cold start (the JavaScript loop 1.4-2).
 *
 * Assembled here, no toolchain nor dependency (as gear-scan.ts). In the text format, with the
 * memory's first word the slide's result and SEEN its table of weak high halves:
 *
 *   (func $entry (param $p i32) (param $n i32) (result i32)   ;; entryOf(sumsOf(mem, p, n))
 *     two bytes a step (four steps a turn, then one): a += x; b += a; a += y; b += a;
 *       even = (even ^ x) * FNV_PRIME; odd = (odd ^ y) * FNV_PRIME
 *     an odd last byte to a, b and even; then fmix32 of even ^ odd * 0x9e3779b1
 *     (return (b << 16) | (a & 0xff) << 8 | (h & 0xff)))
 *   (func $roll (param $p i32) (param $block i32) (param $i i32) (param $last i32)
 *               (param $a i32) (param $b i32) (result i32)            ;; wire-delta.ts roll()
 *     while SEEN[b] == 0 (eight bytes a turn while short of last, then one):
 *       if i >= last (signed): i = last + 1, stop;
 *       out = mem[p + i]; a = (a - out + mem[p + i + block]) & 0xffff;
 *       b = (b - block * out + a) & 0xffff; i += 1
 *     mem[0] = b << 16 | a; (return i))
 */
import {
  ADD,
  AND,
  BLOCK,
  BR,
  BR_IF,
  CONST,
  END,
  GE_S,
  GE_U,
  GET,
  GT_S,
  I32,
  IF,
  LOAD8_U,
  LOOP,
  MUL,
  moduleOf,
  OR,
  SET,
  SHL,
  SHR_U,
  STORE,
  SUB,
  uleb,
  VOID,
  wasm,
  XOR,
} from './wasm-binary.js';

/** The slide's a and b where it stopped: the memory's first word. */
const ROLLED = 0;
/** The table of weak high halves the base has: one byte each, 1 where seen. */
const SEEN = 1024;
/** Where copied bytes start. */
const DATA = 2 * 65536;
const PAGE = 65536;

/** `i32.const v` (signed LEB128 of v as a 32-bit integer). */
function k(v: number): number[] {
  let n = v | 0;
  const out = [CONST];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const load8 = (offset: number) => [LOAD8_U, 0, ...uleb(offset)];

/**
 * `$entry`: params p 0, n 1; locals a 2, b 3, even 4, odd 5, x 6, y 7, end2 8, h 9, end8 10.
 * Eight bytes a turn, then two, then the odd one: WebAssembly's baseline compiler (what a fresh
 * process runs for a while) keeps the locals in memory across a loop's turn, so fewer turns.
 */
function entryBody(): number[] {
  const [P, N, A, B, EVEN, ODD, X, Y, E2, H, E8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const fnv = (lane: number, byte: number) => [GET, lane, GET, byte, XOR, ...k(0x01000193), MUL, SET, lane];
  const step = (byte: number) => [GET, A, GET, byte, ADD, SET, A, GET, B, GET, A, ADD, SET, B];
  const pair = (at: number) => [
    ...[GET, P, ...load8(at), SET, X, GET, P, ...load8(at + 1), SET, Y],
    ...step(X),
    ...step(Y),
    ...fnv(EVEN, X),
    ...fnv(ODD, Y),
  ];
  return [
    ...[1, 9, I32], // nine locals after the parameters
    ...[...k(0x811c9dc5), SET, EVEN, ...k(0x050c5d1f), SET, ODD],
    ...[GET, P, GET, N, ...k(-2), AND, ADD, SET, E2],
    ...[GET, P, GET, N, ...k(-8), AND, ADD, SET, E8],
    // block { loop { if p >= end8: break; eight bytes; p += 8; continue } }
    ...[BLOCK, VOID, LOOP, VOID, GET, P, GET, E8, GE_U, BR_IF, 1],
    ...pair(0),
    ...pair(2),
    ...pair(4),
    ...pair(6),
    ...[GET, P, ...k(8), ADD, SET, P, BR, 0, END, END],
    // block { loop { if p >= end2: break; two bytes; p += 2; continue } }
    ...[BLOCK, VOID, LOOP, VOID, GET, P, GET, E2, GE_U, BR_IF, 1],
    ...pair(0),
    ...[GET, P, ...k(2), ADD, SET, P, BR, 0, END, END],
    // if n & 1: the last byte
    ...[GET, N, ...k(1), AND, IF, VOID, GET, P, ...load8(0), SET, X, ...step(X), ...fnv(EVEN, X), END],
    // fmix32 of even ^ odd * 0x9e3779b1
    ...[GET, EVEN, GET, ODD, ...k(0x9e3779b1), MUL, XOR, SET, H],
    ...[GET, H, GET, H, ...k(16), SHR_U, XOR, ...k(0x85ebca6b), MUL, SET, H],
    ...[GET, H, GET, H, ...k(13), SHR_U, XOR, ...k(0xc2b2ae35), MUL, SET, H],
    ...[GET, H, GET, H, ...k(16), SHR_U, XOR, SET, H],
    ...[GET, B, ...k(16), SHL, GET, A, ...k(0xff), AND, ...k(8), SHL, OR, GET, H, ...k(0xff), AND, OR],
    END,
  ];
}

/** Bytes a turn of the slide's unrolled loop. */
const ROLL_UNROLL = 8;

/**
 * `$roll`: params p 0, block 1, i 2, last 3, a 4, b 5; locals out 6, at 7 (p + i). Unrolled
 * while a whole turn stays short of `last` (each step may still stop at a seen half), then one
 * byte a turn.
 */
function rollBody(): number[] {
  const [P, BLK, I, LAST, A, B, OUT, AT] = [0, 1, 2, 3, 4, 5, 6, 7];
  // One byte at `at + j`: a and b roll by it (the window's first byte out, the byte after it in).
  const slide = (j: number) => [
    ...[GET, AT, ...load8(j), SET, OUT],
    ...[GET, A, GET, OUT, SUB, GET, AT, GET, BLK, ADD, ...load8(j), ADD, ...k(0xffff), AND, SET, A],
    ...[GET, B, GET, BLK, GET, OUT, MUL, SUB, GET, A, ADD, ...k(0xffff), AND, SET, B],
  ];
  const unrolled: number[] = [];
  for (let j = 0; j < ROLL_UNROLL; j++) {
    // if SEEN[b] { i += j; break out of everything (if, loop, block, block $done) }
    unrolled.push(...[GET, B, ...load8(SEEN), IF, VOID, GET, I, ...k(j), ADD, SET, I, BR, 3, END]);
    unrolled.push(...slide(j));
  }
  return [
    ...[1, 2, I32],
    // block $done {
    ...[BLOCK, VOID],
    // block { loop { if i + UNROLL > last: break; at = p + i; steps; i += UNROLL; continue } }
    ...[BLOCK, VOID, LOOP, VOID, GET, I, ...k(ROLL_UNROLL), ADD, GET, LAST, GT_S, BR_IF, 1],
    ...[GET, P, GET, I, ADD, SET, AT],
    ...unrolled,
    ...[GET, I, ...k(ROLL_UNROLL), ADD, SET, I, BR, 0, END, END],
    // loop { if SEEN[b]: break; if i >= last { i = last + 1; break } one byte; i += 1; continue }
    ...[LOOP, VOID, GET, B, ...load8(SEEN), BR_IF, 1],
    ...[GET, I, GET, LAST, GE_S, IF, VOID, GET, LAST, ...k(1), ADD, SET, I, BR, 2, END],
    ...[GET, P, GET, I, ADD, SET, AT],
    ...slide(0),
    ...[GET, I, ...k(1), ADD, SET, I, BR, 0, END],
    // } $done
    END,
    ...[...k(ROLLED), GET, B, ...k(16), SHL, GET, A, OR, STORE, 2, ...uleb(0)],
    ...[GET, I, END],
  ];
}

function moduleBytes(): Uint8Array {
  return moduleOf([
    { name: 'entry', params: 2, body: entryBody() },
    { name: 'roll', params: 6, body: rollBody() },
  ]);
}

/** The loops over bytes in their memory, at `DATA` on. */
export interface DeltaScanner {
  /** Copies `bytes` into the memory at `DATA`, growing it as needed; their offset there. */
  load(bytes: Uint8Array): number;
  /** entryOf(sumsOf(bytes, at, n)) of the bytes loaded, at `at` of them. */
  entry(at: number, n: number): number;
  /** Marks (1) or clears (0) a weak high half in the slide's table. */
  mark(b: number, on: 0 | 1): void;
  /**
   * wire-delta.ts roll() over the bytes loaded: returns where the slide stopped, the window's
   * halves in `rolled`.
   */
  roll(block: number, i: number, last: number, a: number, b: number, rolled: Int32Array): number;
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
    // Views of the memory, made again when it grows (its buffer is then a new one).
    let bytes = new Uint8Array(memory.buffer);
    let words = new Int32Array(memory.buffer, 0, 1);
    return {
      load(data) {
        const need = DATA + data.length;
        if (need > bytes.length) {
          memory.grow(Math.ceil((need - bytes.length) / PAGE));
          bytes = new Uint8Array(memory.buffer);
          words = new Int32Array(memory.buffer, 0, 1);
        }
        bytes.set(data, DATA);
        return DATA;
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
