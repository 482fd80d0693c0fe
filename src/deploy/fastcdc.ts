/**
 * FastCDC content-defined chunking (Xia et al., 2016/2020): a gear rolling hash, cut-point
 * skipping below `min`, and normalized chunking (a harder mask before `avg`, an easier one after)
 * so chunk sizes cluster around `avg`. Boundaries depend only on nearby content, so an edit moves
 * only the chunks around it.
 */
import crypto, { createHash } from 'node:crypto';
import { type GearScanner, gearScanner } from './gear-scan.js';
import type { ChunkId } from './types.js';

export interface ChunkingParams {
  min: number;
  avg: number;
  max: number;
}

/** 16 KiB / 64 KiB / 256 KiB, as DESIGN §8 says. */
export const DEFAULT_CHUNKING: ChunkingParams = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 };

/**
 * The gear table: 256 pseudo-random 32-bit words derived from SHA-256 so it is reproducible
 * everywhere. Changing it changes every cut point (and so every chunk id): never edit.
 */
const GEAR: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    table[i] = createHash('sha256').update(`slipway-fastcdc-gear-${i}`).digest().readUInt32BE(0);
  }
  return table;
})();

/**
 * A mask with `bits` one-bits in the high half of the word. With a left-shifting gear hash, bit k
 * depends on the last k+1 bytes, so high bits give a wide (≥ 17-byte) effective window.
 */
function maskOf(bits: number): number {
  if (bits < 1 || bits > 31) throw new RangeError(`mask bits out of range: ${bits}`);
  return ((0xffffffff << (32 - bits)) >>> 0) | 0;
}

interface Masks {
  small: number;
  large: number;
}

const maskCache = new Map<number, Masks>();

/** Normalization level 2: two bits harder before avg, two bits easier after. */
function masksFor(avg: number): Masks {
  let m = maskCache.get(avg);
  if (!m) {
    const bits = Math.round(Math.log2(avg));
    m = { small: maskOf(bits + 2), large: maskOf(bits - 2) };
    maskCache.set(avg, m);
  }
  return m;
}

/** Checks chunking parameters; returns a message when they are unusable. */
export function checkParams(p: ChunkingParams): string | undefined {
  if (!(Number.isInteger(p.min) && Number.isInteger(p.avg) && Number.isInteger(p.max))) {
    return 'chunk sizes must be whole numbers of bytes';
  }
  if (!(p.min >= 64 && p.min < p.avg && p.avg < p.max)) return 'chunk sizes need 64 <= min < avg < max';
  if (p.max > 64 * 1024 * 1024) return 'max chunk size must be at most 64 MiB';
  return undefined;
}

/** The memories of buffers from `chunkingBuffer`, with the scanner of each. */
const scanners = new WeakMap<ArrayBufferLike, GearScanner>();

/**
 * A buffer of `size` bytes to chunk in: `cutLength` scans it with WebAssembly (gear-scan.ts),
 * ~2.5x the speed of its JavaScript loop. A plain buffer where WebAssembly is missing.
 */
export function chunkingBuffer(size: number): Buffer {
  const scanner = gearScanner(GEAR, size);
  if (!scanner) return Buffer.allocUnsafe(size);
  scanners.set(scanner.buffer.buffer, scanner);
  return scanner.buffer;
}

/**
 * The WebAssembly memory under `buf` when it is a view of a buffer from `chunkingBuffer`: the
 * fast hash of chunks (fast-hash.ts) then reads them there, in the scratch gear-scan.ts leaves it.
 */
export function chunkingMemory(buf: Uint8Array): object | undefined {
  return scanners.get(buf.buffer)?.memory;
}

/**
 * Length of the chunk that starts at `start`, looking at bytes up to `end` (exclusive). When
 * `end - start <= min` the rest is one chunk; callers that stream must pass at least `max`
 * bytes unless they are at the end of the input.
 */
export function cutLength(buf: Uint8Array, start: number, end: number, p: ChunkingParams): number {
  const n = end - start;
  if (n <= p.min) return n;
  if (start < 0 || end > buf.length) throw new RangeError('cutLength: bytes out of the buffer');
  const limit = Math.min(n, p.max);
  const normal = Math.min(limit, p.avg);
  const { small, large } = masksFor(p.avg);
  const scanner = scanners.get(buf.buffer);
  if (scanner) {
    // The loops below byte by byte: the small mask on the first even count of bytes from `min`
    // to `normal` (an odd last one goes to the second loop), the large one up to `limit`; the
    // second loop leaves the last byte unscanned, which returns `limit` as a cut there would.
    const at = buf.byteOffset + start;
    const smallEnd = at + p.min + ((normal - p.min) & ~1);
    return scanner.scan(at + p.min, smallEnd, at + limit, small, large) - at;
  }
  const gear = GEAR;
  let hash = 0;
  let i = start + p.min;
  // Unrolled by two (as FastCDC 2020 does) with the exact hash at every byte, so cut points do
  // not depend on the parity of the offset; the two loops keep the hot path free of mask switches.
  const normalEnd = start + normal - 1;
  for (; i < normalEnd; i += 2) {
    hash = ((hash << 1) + gear[buf[i]!]!) | 0;
    if ((hash & small) === 0) return i - start + 1;
    hash = ((hash << 1) + gear[buf[i + 1]!]!) | 0;
    if ((hash & small) === 0) return i - start + 2;
  }
  const limitEnd = start + limit - 1;
  for (; i < limitEnd; i += 2) {
    hash = ((hash << 1) + gear[buf[i]!]!) | 0;
    if ((hash & large) === 0) return i - start + 1;
    hash = ((hash << 1) + gear[buf[i + 1]!]!) | 0;
    if ((hash & large) === 0) return i - start + 2;
  }
  return limit;
}

/** Cut points (chunk end offsets) of a whole buffer. */
export function cutPoints(buf: Uint8Array, p: ChunkingParams = DEFAULT_CHUNKING): number[] {
  const out: number[] = [];
  let start = 0;
  while (start < buf.length) {
    start += cutLength(buf, start, buf.length, p);
    out.push(start);
  }
  return out;
}

export interface Chunk {
  id: ChunkId;
  offset: number;
  size: number;
}

// One-shot hashing (Node >= 20.12) skips the Hash object per chunk; older Nodes use createHash.
const oneShot = (crypto as { hash?: (alg: string, data: Uint8Array, enc: 'hex') => string }).hash;

/** SHA-256 of bytes as a chunk id (lower-case hex). */
export function chunkIdOf(bytes: Uint8Array): ChunkId {
  return (
    oneShot ? oneShot('sha256', bytes, 'hex') : createHash('sha256').update(bytes).digest('hex')
  ) as ChunkId;
}

/** Chunks of a whole in-memory buffer with their SHA-256 ids. */
export function chunkBuffer(buf: Uint8Array, p: ChunkingParams = DEFAULT_CHUNKING): Chunk[] {
  const out: Chunk[] = [];
  let start = 0;
  while (start < buf.length) {
    const size = cutLength(buf, start, buf.length, p);
    out.push({ id: chunkIdOf(buf.subarray(start, start + size)), offset: start, size });
    start += size;
  }
  return out;
}
