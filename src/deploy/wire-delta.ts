/**
 * A changed chunk sent as a delta against a chunk the agent already has (usually the one that
 * was at the same place in the same file). The agent sends the base's block hashes counted from
 * its start and from its end; the origin finds how many leading and trailing blocks of the new
 * chunk are the same and sends only the middle, compressed. The agent rebuilds
 * `base[0, head) + middle + base[len - tail, len)` and checks the SHA-256 like any chunk, so a
 * hash collision or a lie costs one refused chunk (fetched whole again), never wrong bytes.
 * Blocks are about 1/64 of the base: a small edit costs a few blocks and 512 bytes of hashes.
 */
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import type { ChunkId } from './types.js';

/** What an agent asks for: chunk `id` as a delta against its `base` chunks (joined), with block hashes. */
export interface DeltaRequest {
  id: ChunkId;
  /** The chunks that covered the same bytes of the same file before, in order. */
  base: ChunkId[];
  /** Base64 of 4-byte hashes of the base's whole blocks, from its start. */
  head: string;
  /** The same from its end (block i ends i blocks before the end). */
  tail: string;
}

/** Bases smaller than this are not worth a delta: the hashes would cost what the chunk does. */
export const MIN_DELTA_BASE = 8 * 1024;

const BLOCKS = 64;

/** Block size for a base of `size` bytes (the same on both sides: it depends on the base only). */
function blockOf(size: number): number {
  return Math.max(64, Math.ceil(size / BLOCKS));
}

function hash4(b: Uint8Array): Buffer {
  return createHash('sha1').update(b).digest().subarray(0, 4);
}

/** The agent's side: the block hashes of a base it has. */
export function deltaRequest(id: ChunkId, baseIds: ChunkId[], base: Buffer): DeltaRequest {
  const block = blockOf(base.length);
  const n = Math.floor(base.length / block);
  const head: Buffer[] = [];
  const tail: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    head.push(hash4(base.subarray(i * block, (i + 1) * block)));
    tail.push(hash4(base.subarray(base.length - (i + 1) * block, base.length - i * block)));
  }
  return {
    id,
    base: baseIds,
    head: `${block}:${Buffer.concat(head).toString('base64')}`,
    tail: Buffer.concat(tail).toString('base64'),
  };
}

/**
 * The origin's side: `[u32 head bytes][u32 tail bytes][deflated middle]`, or undefined when
 * nothing matches (the chunk then travels whole). The receiver knows the base by the chunk's id.
 */
export function encodeDelta(data: Buffer, req: DeltaRequest): Buffer | undefined {
  const [blockText, headB64] = req.head.split(':');
  const block = Number(blockText);
  if (!Number.isInteger(block) || block < 64 || headB64 === undefined) return undefined;
  const head = Buffer.from(headB64, 'base64');
  const tail = Buffer.from(req.tail, 'base64');
  const most = Math.floor(data.length / block);
  let h = 0;
  while (
    h < most &&
    h * 4 + 4 <= head.length &&
    hash4(data.subarray(h * block, (h + 1) * block)).equals(head.subarray(h * 4, h * 4 + 4))
  )
    h++;
  let t = 0;
  while (
    h + t < most &&
    t * 4 + 4 <= tail.length &&
    hash4(data.subarray(data.length - (t + 1) * block, data.length - t * block)).equals(
      tail.subarray(t * 4, t * 4 + 4),
    )
  )
    t++;
  if (h + t === 0) return undefined;
  const middle = data.subarray(h * block, data.length - t * block);
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32BE(h * block, 0);
  out.writeUInt32BE(t * block, 4);
  return Buffer.concat([out, zlib.deflateRawSync(middle, { level: 6 })]);
}

/** The agent's side: rebuilds a chunk from a delta payload and its base (checked by the caller). */
export function decodeDelta(payload: Buffer, base: Buffer | undefined, maxChunk: number): Buffer {
  if (payload.length < 8) throw new Error('delta frame too short');
  if (!base) throw new Error('a delta for a chunk not asked for as one');
  const headBytes = payload.readUInt32BE(0);
  const tailBytes = payload.readUInt32BE(4);
  if (headBytes > base.length || tailBytes > base.length) throw new Error('delta reaches past its base');
  const room = maxChunk - headBytes - tailBytes;
  if (room < 0) throw new Error('delta larger than the chunk limit');
  const middle = zlib.inflateRawSync(payload.subarray(8), { maxOutputLength: Math.max(1, room) });
  return Buffer.concat([base.subarray(0, headBytes), middle, base.subarray(base.length - tailBytes)]);
}
