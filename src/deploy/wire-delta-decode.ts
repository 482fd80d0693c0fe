/**
 * The receiving side of chunk deltas (wire-delta.ts makes them): a chunk rebuilt from a delta
 * payload and the base the receiver named, every offset checked against the base and the chunk
 * limit before a byte is copied. The caller verifies the result against its SHA-256.
 */
import zlib from 'node:zlib';
import type { Zstd } from './zstd.js';

/** The agent's side of encodeZstdDelta: the dictionary from its base, then the chunk. */
export function decodeZstdDelta(
  payload: Buffer,
  base: Buffer | undefined,
  maxChunk: number,
  block: number,
  zstd: Zstd,
  /** Where the chunk is rebuilt (the receive pool's buffers), a buffer of its own by default. */
  alloc?: (n: number) => Buffer,
): Buffer {
  if (!base) throw new Error('a delta for a chunk not asked for as one');
  if (payload.length < 4) throw new Error('delta frame too short');
  const runs = payload.readUInt32BE(0);
  if (runs === 0 || runs > base.length / block || 4 + runs * 8 > payload.length)
    throw new Error('delta frame malformed');
  const parts: Buffer[] = [];
  let next = 0;
  for (let j = 0; j < runs; j++) {
    const first = payload.readUInt32BE(4 + j * 8);
    const count = payload.readUInt32BE(8 + j * 8);
    if (count === 0 || first < next) throw new Error('delta frame malformed');
    next = first + count;
    if (next * block > base.length) throw new Error('delta reaches past its base');
    parts.push(base.subarray(first * block, next * block));
  }
  // One run (an edit inside a chunk that kept its other blocks in place): the base's own bytes.
  const dict = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return zstd.decompress(payload.subarray(4 + runs * 8), maxChunk, dict, alloc);
}

/** The agent's side: rebuilds a chunk from a delta payload and its base (checked by the caller). */
export function decodeDelta(
  payload: Buffer,
  base: Buffer | undefined,
  maxChunk: number,
  block: number,
  /** Where the chunk is rebuilt (the receive pool's buffers), a buffer of its own by default. */
  alloc?: (n: number) => Buffer,
): Buffer {
  if (!base) throw new Error('a delta for a chunk not asked for as one');
  if (payload.length < 4) throw new Error('delta frame too short');
  const opsLen = payload.readUInt32BE(0);
  if (opsLen % 12 !== 0 || 4 + opsLen > payload.length) throw new Error('delta frame malformed');
  const literals = literalsOf(payload.subarray(4 + opsLen), maxChunk);
  // Checked and sized first, then copied into one buffer: no view per op, so a frame of many
  // tiny ops costs no more memory than the chunk it rebuilds.
  let lit = 0;
  let total = 0;
  for (let o = 4; o < 4 + opsLen; o += 12) {
    const len = payload.readUInt32BE(o);
    const first = payload.readUInt32BE(o + 4);
    const count = payload.readUInt32BE(o + 8);
    if (lit + len > literals.length) throw new Error('delta literals run short');
    lit += len;
    const to = (first + count) * block;
    if (to > base.length) throw new Error('delta reaches past its base');
    total += len + count * block;
    if (total > maxChunk) throw new Error('delta larger than the chunk limit');
  }
  const out = alloc ? alloc(total) : Buffer.allocUnsafe(total);
  let at = 0;
  lit = 0;
  for (let o = 4; o < 4 + opsLen; o += 12) {
    const len = payload.readUInt32BE(o);
    const from = payload.readUInt32BE(o + 4) * block;
    const bytes = payload.readUInt32BE(o + 8) * block;
    at += literals.copy(out, at, lit, lit + len);
    lit += len;
    at += base.copy(out, at, from, from + bytes);
  }
  return out;
}

/**
 * A delta's literals from their deflate stream. Literals that looked like noise travel in stored
 * blocks (wire-delta.ts storedDelta): those are read in place, without a zlib context per chunk
 * (inflateRawSync's set-up was most of the agent's decoding of the 200 MB file's 1% edit). Any
 * other stream, or one these checks do not take, goes through inflate as before.
 */
function literalsOf(raw: Buffer, max: number): Buffer {
  const parts: Buffer[] = [];
  let total = 0;
  for (let o = 0; o + 5 <= raw.length; ) {
    const head = raw[o]!;
    // BTYPE 00 (stored) in bits 1-2; its length and the length's complement after the header byte.
    if ((head & 0b110) !== 0) break;
    const len = raw[o + 1]! | (raw[o + 2]! << 8);
    const nlen = raw[o + 3]! | (raw[o + 4]! << 8);
    if ((len ^ 0xffff) !== nlen || o + 5 + len > raw.length) break;
    total += len;
    if (total > max) break;
    parts.push(raw.subarray(o + 5, o + 5 + len));
    o += 5 + len;
    // The final block (BFINAL) ends the stream, and the stream the payload.
    if (head & 1) {
      if (o !== raw.length) break;
      return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
    }
  }
  return zlib.inflateRawSync(raw, { maxOutputLength: max });
}
