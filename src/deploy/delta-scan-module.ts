/**
 * The WebAssembly module of delta-scan.ts, assembled here with no toolchain nor dependency (as
 * gear-scan.ts): its memory's layout and its four functions' bodies. In the text format, with the
 * memory's first word the slide's result and SEEN its table of weak high halves:
 *
 *   (func $entry (param $p i32) (param $n i32) (result i32)   ;; entryOf(sumsOf(mem, p, n))
 *     two bytes a step (four steps a turn, then one): a += x; b += a; a += y; b += a;
 *       even = (even ^ x) * FNV_PRIME; odd = (odd ^ y) * FNV_PRIME
 *     an odd last byte to a, b and even; then fmix32 of even ^ odd * 0x9e3779b1
 *     (return (b << 16) | (a & 0xff) << 8 | (h & 0xff)))
 *   (func $roll (param $p i32) (param $block i32) (param $i i32) (param $last i32)
 *               (param $a i32) (param $b i32) (result i32)            ;; delta-scan-js.ts roll()
 *     while SEEN[b] == 0 (eight bytes a turn while short of last, then one):
 *       if i >= last (signed): i = last + 1, stop;
 *       out = mem[p + i]; a = (a - out + mem[p + i + block]) & 0xffff;
 *       b = (b - block * out + a) & 0xffff; i += 1
 *     mem[0] = b << 16 | a; (return i))
 *   (func $scan (param $len i32) (param $block i32) (param $n i32) (param $ops i32) (result i32)
 *     chain the n entries at SUMS by weak high half h: NEXT[k] = HEAD[h]; HEAD[h] = k + 1; SEEN[h] = 1
 *     from the window at 0: i = $roll(...); at a stop, the last block k of HEAD[b]'s chain whose
 *     entry's weak low byte is a's and strong byte the window's ($entry, taken once) is a hit:
 *     extended while the next block's $entry is the next entry, a triple (i - lit, k, count)
 *     written at ops, i past it; no hit: one byte on. Then the chains cleared; (return triples))
 *   (func $sample (param $ops i32) (param $nops i32) (param $block i32) (param $stride i32) (result i32)
 *     COUNTS[mem[DATA + i]] += 1 for every stride-th i of the triples' literal runs; (return how many))
 */
import {
  ADD,
  AND,
  BLOCK,
  BR,
  BR_IF,
  CONST,
  END,
  EQZ,
  GE_S,
  GE_U,
  GET,
  GT_S,
  I32,
  IF,
  LOAD,
  LOAD8_U,
  LOOP,
  MUL,
  moduleOf,
  OR,
  RETURN,
  SET,
  SHL,
  SHR_U,
  STORE,
  SUB,
  uleb,
  VOID,
  XOR,
} from './wasm-binary.js';

/** The slide's a and b where it stopped: the memory's first word. */
const ROLLED = 0;
/** The table of weak high halves the base has: one byte each, 1 where seen. */
export const SEEN = 1024;
/** `$sample`'s count of each byte value: an i32 each. */
export const COUNTS = SEEN + 65536;
/** `$scan`'s first base block (+1, 0 for none) of each weak high half: an i32 each. */
const HEAD = 2 * 65536;
/** `$scan`'s base entries, as sent (big-endian u32 each). */
export const SUMS = HEAD + 4 * 65536;
/** Base blocks `$scan` takes at most: the delta schema's 64 KiB of base64 checksums. */
export const SCAN_BLOCKS = 16 * 1024;
/** `$scan`'s next base block (+1) of the same weak high half, after each block: an i32 each. */
const NEXT = SUMS + 4 * SCAN_BLOCKS;
/** Where copied bytes start. */
export const DATA = NEXT + 4 * SCAN_BLOCKS;
export const PAGE = 65536;

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

const CALL = 0x10;
const EQ = 0x46;
const NE = 0x47;
const LOAD32 = [LOAD, 2, 0];
const load32 = (offset: number) => [LOAD, 2, ...uleb(offset)];
const STORE8 = 0x3a;
const LT_S = 0x48;
const STORE32 = (offset: number) => [STORE, 2, ...uleb(offset)];

/**
 * `$scan` (delta-scan-js.ts scanJs() in one call): params len 0, block 1, n 2, ops 3; the chunk's bytes
 * at DATA, the base's n entries at SUMS. Chains the base blocks by weak high half (HEAD, NEXT,
 * SEEN; cleared again before it returns), slides with `$roll`, takes the last base block of the
 * chain whose entry's low bytes agree at a stop, extends a match block by block with `$entry`,
 * and writes the triples (literal bytes, first base block, block count) at `ops`, the last with a
 * count of 0; returns their number, 0 when no block matched. Locals: k 4, e 5, h 6 (a weak high
 * half), i 7, a 8, b 9, last 10, lit 11, nops 12, matched 13, hit 14, count 15, strong 16, x 17,
 * end 18.
 */
function scanBody(): number[] {
  const [LEN, BLK, N, OPS, K, E, H, I, A, B, LAST, LIT, NOPS, MATCHED, HIT, COUNT, STRONG, X, END_] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
  ];
  /** e = the big-endian entry of base block `k` (its index in local `idx`). */
  const entryOfBlock = (idx: number) => [
    ...[GET, idx, ...k(2), SHL, ...k(SUMS), ADD, SET, X],
    ...[GET, X, ...load8(0), ...k(24), SHL, GET, X, ...load8(1), ...k(16), SHL, OR],
    ...[GET, X, ...load8(2), ...k(8), SHL, OR, GET, X, ...load8(3), OR],
  ];
  /** a and b of the window at i (weakOf), masked. */
  const weak = [
    ...[...k(0), SET, A, ...k(0), SET, B, GET, I, ...k(DATA), ADD, SET, X, GET, X, GET, BLK, ADD, SET, END_],
    ...[BLOCK, VOID, LOOP, VOID, GET, X, GET, END_, GE_U, BR_IF, 1],
    ...[GET, A, GET, X, ...load8(0), ADD, SET, A, GET, B, GET, A, ADD, SET, B],
    ...[GET, X, ...k(1), ADD, SET, X, BR, 0, END, END],
    ...[GET, A, ...k(0xffff), AND, SET, A, GET, B, ...k(0xffff), AND, SET, B],
  ];
  /** Appends (x, y, z) at ops + 12 * nops. */
  const push = (x: number[], y: number[], z: number[]) => [
    ...[GET, NOPS, ...k(12), MUL, GET, OPS, ADD, SET, X],
    ...[GET, X, ...x, ...STORE32(0), GET, X, ...y, ...STORE32(4), GET, X, ...z, ...STORE32(8)],
    ...[GET, NOPS, ...k(1), ADD, SET, NOPS],
  ];
  /** For each base block: `then` with its weak high half in h. */
  const eachHalf = (then: number[]) => [
    ...[...k(0), SET, K, BLOCK, VOID, LOOP, VOID, GET, K, GET, N, GE_U, BR_IF, 1],
    ...entryOfBlock(K),
    ...[SET, E, GET, E, ...k(16), SHR_U, SET, H],
    ...then,
    ...[GET, K, ...k(1), ADD, SET, K, BR, 0, END, END],
  ];
  return [
    ...[1, 15, I32],
    // Chain the base blocks: NEXT[k] = HEAD[h]; HEAD[h] = k + 1; SEEN[h] = 1 (chains run from the
    // last block down, so the first one to agree is the last, as in the JavaScript scan).
    ...eachHalf([
      ...[GET, K, ...k(2), SHL, GET, H, ...k(2), SHL, ...load32(HEAD), ...STORE32(NEXT)],
      ...[GET, H, ...k(2), SHL, GET, K, ...k(1), ADD, ...STORE32(HEAD)],
      ...[GET, H, ...k(1), STORE8, 0, ...uleb(SEEN)],
    ]),
    ...[GET, LEN, GET, BLK, SUB, SET, LAST, ...k(0), SET, I],
    ...weak,
    // block $out { loop $main {
    ...[BLOCK, VOID, LOOP, VOID, GET, I, GET, LAST, GT_S, BR_IF, 1],
    ...[...k(DATA), GET, BLK, GET, I, GET, LAST, GET, A, GET, B, CALL, 1, SET, I],
    ...[GET, I, GET, LAST, GT_S, BR_IF, 1],
    ...[...k(ROLLED), ...LOAD32, SET, X, GET, X, ...k(0xffff), AND, SET, A, GET, X, ...k(16), SHR_U, SET, B],
    ...[...k(-1), SET, HIT, GET, B, ...k(2), SHL, ...load32(HEAD), SET, K],
    // The chain of blocks with this half: the window's strong byte taken at the first whose
    // weak low byte agrees too (most stops in new bytes have none: a block's checksum each was
    // ~1 ns a byte of the 200 MB file's 10% edit), -1 until then.
    ...[...k(-1), SET, STRONG],
    ...[BLOCK, VOID, LOOP, VOID, GET, K, EQZ, BR_IF, 1, GET, K, ...k(1), SUB, SET, K],
    ...entryOfBlock(K),
    ...[SET, E],
    ...[GET, E, ...k(8), SHR_U, ...k(0xff), AND, GET, A, ...k(0xff), AND, EQ, IF, VOID],
    ...[GET, STRONG, ...k(0), LT_S, IF, VOID],
    ...[GET, I, ...k(DATA), ADD, GET, BLK, CALL, 0, ...k(0xff), AND, SET, STRONG, END],
    ...[GET, E, ...k(0xff), AND, GET, STRONG, EQ, IF, VOID, GET, K, SET, HIT, BR, 3, END],
    ...[END],
    ...[GET, K, ...k(2), SHL, ...load32(NEXT), SET, K, BR, 0, END, END],
    // if hit >= 0: extend over the following base blocks while they keep matching
    ...[GET, HIT, ...k(0), GE_S, IF, VOID, ...k(1), SET, COUNT],
    ...[BLOCK, VOID, LOOP, VOID],
    ...[GET, HIT, GET, COUNT, ADD, GET, N, GE_S, BR_IF, 1],
    ...[GET, I, GET, COUNT, ...k(1), ADD, GET, BLK, MUL, ADD, GET, LEN, GT_S, BR_IF, 1],
    ...[GET, HIT, GET, COUNT, ADD, SET, E],
    ...[GET, I, GET, COUNT, GET, BLK, MUL, ADD, ...k(DATA), ADD, GET, BLK, CALL, 0],
    ...entryOfBlock(E),
    ...[NE, BR_IF, 1, GET, COUNT, ...k(1), ADD, SET, COUNT, BR, 0, END, END],
    ...push([GET, I, GET, LIT, SUB], [GET, HIT], [GET, COUNT]),
    ...[GET, MATCHED, GET, COUNT, ADD, SET, MATCHED],
    ...[GET, I, GET, COUNT, GET, BLK, MUL, ADD, SET, I, GET, I, SET, LIT],
    ...[GET, I, GET, LAST, GT_S, EQZ, IF, VOID, ...weak, END],
    ...[BR, 1, END],
    // No block here after all: roll one byte on ($roll stops again at once otherwise).
    ...[GET, I, GET, LAST, LT_S, IF, VOID],
    ...[GET, I, ...k(DATA), ADD, SET, X, GET, X, ...load8(0), SET, E],
    ...[GET, A, GET, E, SUB, GET, X, GET, BLK, ADD, ...load8(0), ADD, ...k(0xffff), AND, SET, A],
    ...[GET, B, GET, BLK, GET, E, MUL, SUB, GET, A, ADD, ...k(0xffff), AND, SET, B],
    ...[END, GET, I, ...k(1), ADD, SET, I, BR, 0],
    // } } $out
    ...[END, END],
    // Clear the chains' heads and the table of halves.
    ...eachHalf([
      ...[GET, H, ...k(2), SHL, ...k(0), ...STORE32(HEAD)],
      ...[GET, H, ...k(0), STORE8, 0, ...uleb(SEEN)],
    ]),
    ...[GET, MATCHED, EQZ, IF, VOID, ...k(0), RETURN, END],
    ...push([GET, LEN, GET, LIT, SUB], k(0), k(0)),
    ...[GET, NOPS, END],
  ];
}

/**
 * `$sample`: params ops 0, nops 1, block 2, stride 3; counts at COUNTS every `stride`th byte of
 * the literals of `nops` triples at `ops` (wire-delta.ts literalsLookRandom's sample, the stride
 * carried across literal runs); returns the bytes counted. Locals: t 4, at 5, end 6, i 7, x 8, n 9.
 */
function sampleBody(): number[] {
  const [OPS, NOPS, BLK, STRIDE, T, AT, END_, I, X, N] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  return [
    ...[1, 6, I32],
    // COUNTS zeroed
    ...[BLOCK, VOID, LOOP, VOID, GET, I, ...k(1024), GE_U, BR_IF, 1],
    ...[GET, I, ...k(0), ...STORE32(COUNTS), GET, I, ...k(4), ADD, SET, I, BR, 0, END, END],
    // i carries on from one run to the next: where the stride's next byte is, from the run's start.
    ...[...k(0), SET, I],
    ...[BLOCK, VOID, LOOP, VOID, GET, T, GET, NOPS, GE_U, BR_IF, 1],
    ...[GET, T, ...k(12), MUL, GET, OPS, ADD, SET, X],
    ...[GET, AT, GET, X, ...load32(0), ADD, SET, END_, GET, AT, GET, I, ADD, SET, I],
    ...[BLOCK, VOID, LOOP, VOID, GET, I, GET, END_, GE_U, BR_IF, 1],
    ...[GET, I, ...load8(DATA), ...k(2), SHL, SET, AT],
    ...[GET, AT, GET, AT, ...load32(COUNTS), ...k(1), ADD, ...STORE32(COUNTS)],
    ...[GET, N, ...k(1), ADD, SET, N, GET, I, GET, STRIDE, ADD, SET, I, BR, 0, END, END],
    ...[GET, I, GET, END_, SUB, SET, I],
    ...[GET, END_, GET, X, ...load32(8), GET, BLK, MUL, ADD, SET, AT],
    ...[GET, T, ...k(1), ADD, SET, T, BR, 0, END, END],
    ...[GET, N, END],
  ];
}

/** The module's bytes: `entry`, `roll`, `scan` and `sample` over the imported memory `e.m`. */
export function moduleBytes(): Uint8Array {
  return moduleOf([
    { name: 'entry', params: 2, body: entryBody() },
    { name: 'roll', params: 6, body: rollBody() },
    { name: 'scan', params: 4, body: scanBody() },
    { name: 'sample', params: 4, body: sampleBody() },
  ]);
}
