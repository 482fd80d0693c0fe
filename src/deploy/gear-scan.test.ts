/**
 * Cut points must never change (chunk ids in ledgers, on agents and in the protocol depend on
 * them): `cutLength` through WebAssembly (a `chunkingBuffer`) and through its JavaScript loop (any
 * other buffer) are compared with the reference loop below, the one chunk ids were first made
 * with, on data of varied kinds, parameters (odd sizes too) and windows.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { noise } from '../../bench/lib/noise.js';
import { mulberry32 } from '../analyze/random.js';
import { type ChunkingParams, chunkingBuffer, cutLength, DEFAULT_CHUNKING } from './fastcdc.js';
import { gearScanner } from './gear-scan.js';

const GEAR = new Uint32Array(256);
for (let i = 0; i < 256; i++)
  GEAR[i] = createHash('sha256').update(`slipway-fastcdc-gear-${i}`).digest().readUInt32BE(0);
const mask = (bits: number) => ((0xffffffff << (32 - bits)) >>> 0) | 0;

/** The reference: FastCDC's loop as first written in fastcdc.ts (chunk ids were made with it). */
function referenceCut(buf: Uint8Array, start: number, end: number, p: ChunkingParams): number {
  const n = end - start;
  if (n <= p.min) return n;
  const limit = Math.min(n, p.max);
  const normal = Math.min(limit, p.avg);
  const bits = Math.round(Math.log2(p.avg));
  const small = mask(bits + 2);
  const large = mask(bits - 2);
  let hash = 0;
  let i = start + p.min;
  const normalEnd = start + normal - 1;
  for (; i < normalEnd; i += 2) {
    hash = ((hash << 1) + GEAR[buf[i]!]!) | 0;
    if ((hash & small) === 0) return i - start + 1;
    hash = ((hash << 1) + GEAR[buf[i + 1]!]!) | 0;
    if ((hash & small) === 0) return i - start + 2;
  }
  const limitEnd = start + limit - 1;
  for (; i < limitEnd; i += 2) {
    hash = ((hash << 1) + GEAR[buf[i]!]!) | 0;
    if ((hash & large) === 0) return i - start + 1;
    hash = ((hash << 1) + GEAR[buf[i + 1]!]!) | 0;
    if ((hash & large) === 0) return i - start + 2;
  }
  return limit;
}

function cutsWith(
  cut: typeof cutLength,
  buf: Uint8Array,
  p: ChunkingParams,
  from = 0,
  to = buf.length,
): number[] {
  const out: number[] = [];
  for (let s = from; s < to; ) {
    s += cut(buf, s, to, p);
    out.push(s);
  }
  return out;
}

/** Data of several kinds: noise, text, zeros, runs, few distinct bytes, and all of them mixed. */
function kinds(size: number, seed: number): [string, Buffer][] {
  const rnd = mulberry32(seed);
  const words = 'the quick brown fox jumps over a lazy dog while slipway deploys\n'.split(' ');
  const text = Buffer.alloc(size);
  for (let o = 0; o < size; ) o += text.write(`${words[Math.floor(rnd() * words.length)]} `, o);
  const runs = Buffer.alloc(size);
  for (let o = 0; o < size; ) {
    const n = 1 + Math.floor(rnd() * 3000);
    runs.fill(Math.floor(rnd() * 256), o, Math.min(size, o + n));
    o += n;
  }
  const few = Buffer.alloc(size);
  for (let o = 0; o < size; o++) few[o] = Math.floor(rnd() * 3);
  const mixed = Buffer.alloc(size);
  const parts = [noise(size, seed), text, Buffer.alloc(size), runs, few];
  for (let o = 0; o < size; ) {
    const n = Math.min(size - o, 1 + Math.floor(rnd() * 200_000));
    parts[Math.floor(rnd() * parts.length)]!.copy(mixed, o, o, o + n);
    o += n;
  }
  return [
    ['noise', noise(size, seed)],
    ['text', text],
    ['zeros', Buffer.alloc(size)],
    ['runs', runs],
    ['three byte values', few],
    ['mixed', mixed],
  ];
}

const PARAMS: ChunkingParams[] = [
  DEFAULT_CHUNKING,
  { min: 256, avg: 1024, max: 4096 },
  { min: 100, avg: 1001, max: 4099 },
  { min: 333, avg: 3000, max: 3001 },
  { min: 64, avg: 65, max: 67 },
];

describe('gear scan (WebAssembly) and the JavaScript loop', () => {
  it('run WebAssembly here', () => {
    expect(gearScanner(GEAR, 16)).toBeDefined();
  });

  for (const p of PARAMS) {
    it(`cut where the reference cuts, min ${p.min} avg ${p.avg} max ${p.max}`, () => {
      const size = Math.max(256 * 1024, 24 * p.max);
      const wasm = chunkingBuffer(size + 13);
      for (const [kind, data] of kinds(size, p.max)) {
        // At an odd offset in the scanner's memory too.
        const inWasm = wasm.subarray(13, 13 + size);
        data.copy(inWasm);
        const want = cutsWith(referenceCut, data, p);
        expect(cutsWith(cutLength, inWasm, p), kind).toEqual(want);
        expect(cutsWith(cutLength, data, p), kind).toEqual(want);
        // Windows of every length near min, avg and max, from varied starts: the ends of files.
        const rnd = mulberry32(size);
        for (let t = 0; t < 300; t++) {
          const s = Math.floor(rnd() * (size - p.max - 8));
          const around = [p.min, p.avg, p.max][t % 3]!;
          const len = Math.max(1, around - 4 + (t % 9));
          const e = s + len;
          const ref = referenceCut(data, s, e, p);
          expect(cutLength(inWasm, s, e, p), `${kind} [${s}, ${e})`).toBe(ref);
          expect(cutLength(data, s, e, p), `${kind} [${s}, ${e})`).toBe(ref);
        }
      }
    });
  }

  it('refuse bytes past the buffer', () => {
    const b = chunkingBuffer(1000);
    const p = { min: 64, avg: 256, max: 1024 };
    expect(() => cutLength(b, 0, 1001, p)).toThrow(RangeError);
    expect(() => cutLength(Buffer.alloc(1000), 0, 1001, p)).toThrow(RangeError);
  });
});
