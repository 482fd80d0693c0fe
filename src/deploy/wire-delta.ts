/**
 * A changed chunk sent as a delta against chunks the agent already has (those that held the
 * same bytes of the same file before), the rsync way but per chunk: the agent sends a weak
 * rolling checksum and a short strong hash of each whole block of the base; the origin slides
 * over the new chunk, emits "copy base blocks i..j" wherever a block matches at any offset and
 * literal bytes elsewhere, and compresses the literals. The agent rebuilds the chunk and checks
 * its SHA-256 like any other, so a checksum collision or a lie costs one refused chunk (fetched
 * whole again), never wrong bytes. Blocks are about 1/64 of the base: 4 bytes of checksums each
 * (protocol 6; 6 bytes before): 24 bits of the weak checksum, 8 of the strong one (see ENTRY in delta-sums.ts).
 * Both checksums of a block are taken in one pass (protocol 5): the strong one needs only to tell
 * blocks apart whose weak checksums agree, and the final SHA-256 catches the rest. That pass and
 * the origin's scan of a chunk run as WebAssembly (delta-scan.ts) where there is one, else in plain
 * JavaScript (delta-scan-js.ts: the fallback, and the reference delta-scan.test.ts checks $scan against). Two bytes of a one-shot SHA-1 per block (protocol 2-4) cost ~4 µs a call, most of it the
 * call: on the 200 MB file's 10% edit 146 ms of the agent's CPU and 70 ms of the origin's.
 * Two payload formats: copy operations with deflated literals (in stored blocks, uncompressed, when
 * they look like noise), and (for a receiver that can decode zstd) the new chunk compressed by zstd
 * with the matched base blocks as its dictionary.
 */
import zlib from 'node:zlib';
import { deltaScanner, SCAN_BLOCKS } from './delta-scan.js';
import { sampleJs, scanJs } from './delta-scan-js.js';
import { blockOf, ENTRY, entryOf, sumsOf } from './delta-sums.js';
import type { ChunkId } from './types.js';
import type { Zstd } from './zstd.js';

/** What an agent asks for: chunk `id` as a delta against its `base` chunks (joined). */
export interface DeltaRequest {
  id: ChunkId;
  /** The chunks that covered the same bytes of the same file before, in order (not sent). */
  base?: ChunkId[];
  /** Block size of the checksums. */
  block: number;
  /**
   * Base64 of, per whole block of the base: u16 high half (b) of the weak rolling checksum, u8 low
   * byte of its low half (a), u8 low byte of the strong one (entryOf).
   */
  sums: string;
}

/**
 * Bases smaller than this are not worth a delta: the checksums would cost what the chunk does.
 * 2 KiB, measured on the deploy bench's web build with 10% of its files edited: 8 KiB sent 486 KB
 * of frames and requests, 2 KiB 434 KB (a 3 KiB file's 128-byte blocks cost 144 bytes of checksums
 * and spare most of a 2 KB edit's neighbours); 1 KiB changed nothing more.
 */
export const MIN_DELTA_BASE = 2 * 1024;

/** The agent's side: the block checksums of a base it has. */
export function deltaRequest(id: ChunkId, baseIds: ChunkId[], base: Buffer): DeltaRequest {
  const block = blockOf(base.length);
  const n = Math.floor(base.length / block);
  const out = Buffer.allocUnsafe(n * ENTRY);
  const wasm = base.length <= WASM_MAX ? deltaScanner() : undefined;
  if (wasm) {
    wasm.load(base);
    for (let i = 0; i < n; i++) out.writeUInt32BE(wasm.entry(i * block, block), i * ENTRY);
  } else {
    for (let i = 0; i < n; i++) out.writeUInt32BE(entryOf(sumsOf(base, i * block, block)), i * ENTRY);
  }
  return { id, base: baseIds, block, sums: out.toString('base64') };
}

/**
 * Bytes the WebAssembly loops (delta-scan.ts) take at most: their memory grows to the largest
 * base or chunk they were given and stays so; beyond this (chunking parameters far past the
 * default's 256 KiB chunks), the JavaScript loops.
 */
const WASM_MAX = 16 * 1024 * 1024;

/**
 * Where `data` matches the base's blocks: `ops` as triples (literal bytes, first base block,
 * block count), the last with a count of 0; undefined when no block matches.
 */
interface Match {
  ops: ArrayLike<number>;
  block: number;
  /** Whole blocks of the base. */
  n: number;
  /** The scanner's sample of the literals (delta-scan.ts sample()), where it made `ops`. */
  sample?: (stride: number) => { counts: Uint32Array; n: number };
}

function matchBlocks(data: Buffer, req: DeltaRequest): Match | undefined {
  const block = req.block;
  if (!Number.isInteger(block) || block < 128 || data.length < block) return undefined;
  const sums = Buffer.from(req.sums, 'base64');
  const n = Math.floor(sums.length / ENTRY);
  const wasm = data.length <= WASM_MAX && n <= SCAN_BLOCKS ? deltaScanner() : undefined;
  if (wasm) {
    wasm.load(data);
    const ops = wasm.scan(data.length, block, sums, n);
    return ops && { ops, block, n, sample: (stride) => wasm.sample(stride) };
  }
  const ops = scanJs(data, block, sums, n);
  return ops && { ops, block, n };
}

/**
 * The origin's side: `[u32 ops length][ops][deflated literals]`, each op a u32 literal length
 * then a u32 first base block and a u32 block count; undefined when no block matches (the chunk
 * then travels whole).
 */
export function encodeDelta(data: Buffer, req: DeltaRequest): Buffer | undefined {
  const m = matchBlocks(data, req);
  return m && opsDelta(data, m);
}

function opsDelta(data: Buffer, { ops, block }: Match): Buffer {
  const literals: Buffer[] = [];
  let at = 0;
  for (let k = 0; k < ops.length; k += 3) {
    literals.push(data.subarray(at, at + ops[k]!));
    at += ops[k]! + ops[k + 2]! * block;
  }
  const head = Buffer.allocUnsafe(4 + ops.length * 4);
  head.writeUInt32BE(ops.length * 4, 0);
  for (let k = 0; k < ops.length; k++) head.writeUInt32BE(ops[k]!, 4 + k * 4);
  return Buffer.concat([head, zlib.deflateRawSync(Buffer.concat(literals), { level: 6 })]);
}

/**
 * The origin's side with zstd, rsync's trick of priming the compressor with what matched: the
 * base blocks found in the new chunk (whose bytes the origin knows, having found them) become a
 * zstd dictionary both ends can build, and the whole new chunk is compressed against it. Copies
 * cost zstd a few bytes each, and the literals compress with their surroundings as context, not
 * alone. `[u32 runs][runs x (u32 first block, u32 count)][zstd frame]`, runs ascending and
 * disjoint; undefined when no block matches.
 */
export function encodeZstdDelta(
  data: Buffer,
  req: DeltaRequest,
  zstd: Zstd,
  level: number,
): Buffer | undefined {
  const m = matchBlocks(data, req);
  return m && zstdDelta(data, m, zstd, level);
}

/** zstdDelta's dictionary, reused: read only while compressing (synchronously). */
let dictScratch = Buffer.alloc(0);
function zstdDelta(data: Buffer, { ops, block, n }: Match, zstd: Zstd, level: number): Buffer {
  // Base block -> where its bytes are in `data` (the first place it matched), -1 where nowhere.
  // Plain loops over typed arrays, not maps, sorts and closures: this runs once per changed chunk
  // in a fresh process, and its optimizing compile (on a thread of its own, but CPU all the same)
  // took ~50-100 ms there, for code that runs a few hundred times.
  const at = new Int32Array(n).fill(-1);
  let pos = 0;
  let found = 0;
  for (let k = 0; k < ops.length; k += 3) {
    pos += ops[k]!;
    const first = ops[k + 1]!;
    const count = ops[k + 2]!;
    for (let j = 0; j < count; j++) {
      if (at[first + j]! < 0) {
        at[first + j] = pos + j * block;
        found++;
      }
    }
    pos += count * block;
  }
  // The matched blocks in ascending order: their runs in the head, their bytes the dictionary.
  let runs = 0;
  for (let k = 0; k < n; k++) if (at[k]! >= 0 && (k === 0 || at[k - 1]! < 0)) runs++;
  const head = Buffer.allocUnsafe(4 + runs * 8);
  head.writeUInt32BE(runs, 0);
  if (dictScratch.length < found * block)
    dictScratch = Buffer.allocUnsafeSlow(Math.max(found * block, 1 << 18));
  const dict = dictScratch.subarray(0, found * block);
  let r = 0;
  let d = 0;
  for (let k = 0; k < n; k++) {
    const from = at[k]!;
    if (from < 0) continue;
    if (k === 0 || at[k - 1]! < 0) {
      let end = k + 1;
      while (end < n && at[end]! >= 0) end++;
      head.writeUInt32BE(k, 4 + r * 8);
      head.writeUInt32BE(end - k, 8 + r * 8);
      r++;
    }
    // A matched run (base blocks next to each other in `data` too) as one copy, not ~15,000.
    let next = k + 1;
    while (next < n && at[next] === from + (next - k) * block) next++;
    data.copy(dict, d * block, from, from + (next - k) * block);
    d += next - k;
    k = next - 1;
  }
  // The frame is a view of the codec's scratch buffer: copied here, before anything else runs.
  const frame = zstd.compress(data, level, dict);
  const out = Buffer.allocUnsafe(head.length + frame.length);
  head.copy(out, 0);
  frame.copy(out, head.length);
  return out;
}

/**
 * The origin's choice: copy-and-literals with the literals stored as they are when they look
 * like noise (no compressor would shrink them, and zstd with the matched blocks as its dictionary
 * still searched the whole chunk: 25-30 ms of the origin's CPU on the 200 MB file's 1% edit, and
 * the agent's decompression besides); else zstd with the matched blocks as its dictionary when
 * the receiver can decode zstd, else copy-and-literals deflated; undefined when no block matches.
 * Both were once made and the smaller sent: on the deploy bench the copy-and-literal one saved
 * 3-570 bytes per deploy (of 28 KB-20 MB) for a deflate pass per chunk (a fresh zlib context
 * each, ~0.3-0.7 ms: about 15% of the origin's CPU on the 200 MB file's 10% edit). `sure`: no
 * compression of the whole chunk could be much smaller (origin-deltas.ts then skips trying).
 */
export function bestDelta(
  data: Buffer,
  req: DeltaRequest,
  zstd?: { codec: Zstd; level: number; noiseLevel?: number },
): { kind: 'delta' | 'zstd'; payload: Buffer; sure: boolean } | undefined {
  const m = matchBlocks(data, req);
  if (!m) return undefined;
  const total = literalBytes(m);
  if (total >= MIN_SAMPLED && literalsLookRandom(data, m, total))
    return { kind: 'delta', payload: storedDelta(data, m, total), sure: true };
  if (!zstd) return { kind: 'delta', payload: opsDelta(data, m), sure: false };
  // Few unmatched bytes (under 2,048 or a sixteenth of the chunk: a small edit in a large chunk)
  // cost the same bytes at the cheap level: the deep level's cost is its search through the whole
  // chunk and dictionary, not the literals. On the 200 MB file's 10% edit, 110 of 296 zstd deltas
  // took level 9 for such few literals: 92.5 KB of the deltas' 7.8 MB, 93.7 KB at level 3, for
  // ~1-2 ms each against ~0.1-0.2.
  const few = total < MIN_SAMPLED || total * 16 < data.length;
  const level = zstd.noiseLevel !== undefined && few ? zstd.noiseLevel : zstd.level;
  return { kind: 'zstd', payload: zstdDelta(data, m, zstd.codec, level), sure: true };
}

/** Bytes no block matched. */
function literalBytes({ ops }: Match): number {
  let total = 0;
  for (let k = 0; k < ops.length; k += 3) total += ops[k]!;
  return total;
}

/** Bytes a stored deflate block holds at most. */
const STORED_MAX = 65535;

/**
 * opsDelta's format with the literals in stored deflate blocks (RFC 1951 3.2.4: a header byte,
 * the length and its complement, the bytes), written straight from `data`: no zlib context, no
 * pass over the bytes but the copy, and every receiver's inflate reads it.
 */
function storedDelta(data: Buffer, { ops, block }: Match, total: number): Buffer {
  const headLen = 4 + ops.length * 4;
  const blocks = Math.max(1, Math.ceil(total / STORED_MAX));
  const out = Buffer.allocUnsafe(headLen + blocks * 5 + total);
  out.writeUInt32BE(ops.length * 4, 0);
  for (let k = 0; k < ops.length; k++) out.writeUInt32BE(ops[k]!, 4 + k * 4);
  let o = headLen;
  let left = total;
  let room = 0;
  let at = 0;
  for (let k = 0; k < ops.length; k += 3) {
    let from = at;
    const end = at + ops[k]!;
    while (from < end) {
      if (room === 0) {
        room = Math.min(STORED_MAX, left);
        left -= room;
        o = storedHeader(out, o, room, left === 0);
      }
      const n = Math.min(room, end - from);
      o += data.copy(out, o, from, from + n);
      from += n;
      room -= n;
    }
    at = end + ops[k + 2]! * block;
  }
  if (total === 0) o = storedHeader(out, o, 0, true);
  return out.subarray(0, o);
}

/** A stored block's header at `o` for `n` bytes; where its bytes go. */
function storedHeader(out: Buffer, o: number, n: number, last: boolean): number {
  out[o] = last ? 1 : 0;
  out.writeUInt16LE(n, o + 1);
  out.writeUInt16LE(n ^ 0xffff, o + 3);
  return o + 5;
}

/** Literal bytes sampled for the entropy estimate below, at most. */
const SAMPLES = 8192;

/** Literal bytes below which their entropy is not estimated (a small sample reads low). */
const MIN_SAMPLED = 2048;

/**
 * Whether the `total` bytes no block matched (2,048 or more: a small sample of noise reads well
 * under 8 bits) look like noise (compressed media, encrypted data): their order-0 entropy, from
 * an even sample, is near 8 bits a byte. Such literals cost the same bytes at any zstd level, so
 * a deep search for matches among them is wasted.
 */
function literalsLookRandom(data: Buffer, m: Match, total: number): boolean {
  const stride = Math.max(1, Math.floor(total / SAMPLES));
  // In the scanner's memory where it made the match: the JavaScript loop below was compiled by
  // TurboFan in each fresh deployer (~20 ms of background CPU) for ~10 ms of sampling.
  const { counts, n } = m.sample ? m.sample(stride) : sampleJs(data, m.ops, m.block, stride);
  let bits = 0;
  for (let v = 0; v < 256; v++) {
    const c = counts[v]!;
    if (c > 0) bits -= c * Math.log2(c / n);
  }
  // An even sample of 2,048+ random bytes reads about 7.9 (the estimate is biased low); text and
  // code read 4.5-6.5, executables and uncompressed images 6-7.
  return bits / n > 7.8;
}

/** The block size both sides use for a base (the agent needs it to rebuild). */
export function deltaBlock(baseBytes: number): number {
  return blockOf(baseBytes);
}
