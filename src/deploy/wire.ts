/**
 * Chunks on the wire: a stream of frames `[32-byte SHA-256][1-byte encoding][u32 length][payload]`,
 * each payload compressed on its own or a delta against a chunk the receiver named (so a relay can pass frames on and a receiver verifies every
 * chunk as it lands). Decompression is capped at the largest chunk size (no zip bombs).
 */
import zlib from 'node:zlib';
import { chunkIdOf } from './fastcdc.js';
import type { ChunkId } from './types.js';
import { deltaBlock } from './wire-delta.js';
import { decodeDelta, decodeZstdDelta } from './wire-delta-decode.js';
import { loadZstd } from './zstd.js';

/**
 * How a receiver asks for chunks to be compressed. `br` (Brotli quality 2) shrinks text about as
 * much as deflate level 3 at twice its speed and inflates faster; `br-fast` (quality 1) costs a
 * few percent more bytes for another 1.6x, for bulk transfers (a first deploy) where loopback
 * or a fast LAN makes the CPU, not the link, the bottleneck. Both travel as Brotli frames.
 */
export type Encoding = 'none' | 'deflate' | 'br' | 'br-fast';

/**
 * Codecs beyond zlib's that a receiver may list in its request (`codecs`) when it can decode
 * them. With `zstd` listed and zstd on the sending side too (zstd.ts), `br` and `br-fast` travel as
 * zstd frames at the levels below and chunk deltas as zstd with the matched part of the base as
 * its dictionary (wire-delta.ts); without, as Brotli and copy-and-literal deltas.
 */
export type Codec = 'zstd';
export const CODECS: readonly Codec[] = ['zstd'];

/** The codecs this process can encode and decode. */
export function localCodecs(): Codec[] {
  return loadZstd() ? ['zstd'] : [];
}

type Code = 'none' | 'deflate' | 'br' | 'delta' | 'zstd' | 'zdelta';
const CODE: Record<Code, number> = { none: 0, deflate: 1, br: 2, delta: 3, zstd: 4, zdelta: 5 };
const BR_QUALITY = { br: 2, 'br-fast': 1 } as const;
/**
 * zstd levels for the same two requests. On the deploy bench's text in 64 KiB chunks (CPU per
 * byte, one core, loaded machine): Brotli 1 0.393 of the bytes at ~150 MB/s (decompression ~220),
 * Brotli 2 0.359 at ~105 (~320); zstd 1 0.375 at ~200 (~600), zstd 3 0.356 at ~160 (~700),
 * zstd 6 0.346 at ~65. So level 1 for bulk transfers (a first deploy) and 3 for edits: fewer
 * bytes than Brotli at each, and a fraction of its decompression cost.
 */
const ZSTD_LEVEL = { br: 3, 'br-fast': 1 } as const;
const HEADER = 37;

/**
 * Compresses one chunk into a frame; stores it raw when compression does not help. `codecs` are
 * those the receiver can decode (zstd is used when it is listed and loads here).
 */
export async function encodeFrame(
  id: ChunkId,
  data: Buffer,
  encoding: Encoding = 'deflate',
  codecs: readonly Codec[] = [],
): Promise<Buffer> {
  return encodeFrameSync(id, data, encoding, codecs);
}

/** Where a frame's bytes go: `n` bytes the frame may fill (by default a buffer of its own). */
export type FrameAlloc = (n: number) => Buffer;

/**
 * Reused buffers for a receiver (frame-pool.ts): `take` lends one, `give` takes back one nothing
 * reads any more (a buffer not of the pool is ignored).
 */
export interface FrameBuffers {
  take: FrameAlloc;
  give(b: Buffer): void;
}

/**
 * `encodeFrame` on the calling thread, done when it returns: the frame is in a buffer from
 * `alloc` and `data` is not kept, so a caller may read the next chunk into the same buffer (the
 * origin does, origin.ts).
 */
export function encodeFrameSync(
  id: ChunkId,
  data: Buffer,
  encoding: Encoding = 'deflate',
  codecs: readonly Codec[] = [],
  alloc: FrameAlloc = ownBuffer,
  /**
   * The zstd level instead of the encoding's (adaptive-level.ts chooses it per frame of a bulk
   * transfer); used only where zstd is, as `encoding` would be.
   */
  zstdLevel?: number,
): Buffer {
  let payload = data;
  let code = CODE.none;
  const brotliLike = encoding === 'br' || encoding === 'br-fast';
  const zstd = brotliLike && codecs.includes('zstd') ? loadZstd() : undefined;
  // zstd gives up on incompressible bytes about as fast as the sample test below decides (which
  // costs a zlib context per call): it is tried on every chunk, and the chunk goes raw when it
  // does not shrink.
  if (encoding !== 'none' && (zstd || !looksIncompressible(data))) {
    if (zstd) {
      // Synchronous, on the calling thread, for the reason given below; `packed` is a view of
      // the codec's scratch buffer, copied into the frame before the next chunk is compressed.
      // Should the addon ever fail, the chunk goes as Brotli: never a failed transfer for it.
      try {
        const packed = zstd.compress(data, zstdLevel ?? ZSTD_LEVEL[encoding as 'br' | 'br-fast']);
        return packed.length < data.length
          ? frameOf(id, CODE.zstd, packed, alloc)
          : frameOf(id, CODE.none, data, alloc);
      } catch {}
    }
    const brOpts = brotliLike
      ? {
          params: {
            [zlib.constants.BROTLI_PARAM_QUALITY]: BR_QUALITY[encoding],
            [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
            // A window as large as the largest chunk, no larger: less memory per compressor.
            [zlib.constants.BROTLI_PARAM_LGWIN]: Math.max(
              16,
              Math.min(24, Math.ceil(Math.log2(data.length))),
            ),
          },
        }
      : {};
    // On the calling thread, whatever the size: a chunk compresses in a millisecond or two, and
    // a thread-pool round trip per chunk cost 30-40% more CPU in all (measured on the 200 MB
    // file), CPU that deployer and agent share on a small machine.
    const packed = brotliLike
      ? zlib.brotliCompressSync(data, brOpts)
      : zlib.deflateRawSync(data, { level: 3 });
    if (packed.length < data.length) {
      payload = packed;
      code = brotliLike ? CODE.br : CODE.deflate;
    }
  }
  return frameOf(id, code, payload, alloc);
}

/**
 * A frame whose payload is a delta against a chunk the receiver has (wire-delta.ts): copy
 * operations and deflated literals (`delta`), or zstd with the matched base blocks as its
 * dictionary (`zstd`, for a receiver that listed zstd).
 */
export function deltaFrame(id: ChunkId, payload: Buffer, kind: 'delta' | 'zstd' = 'delta'): Buffer {
  return frameOf(id, kind === 'zstd' ? CODE.zdelta : CODE.delta, payload);
}

function ownBuffer(n: number): Buffer {
  return Buffer.allocUnsafeSlow(n);
}

/**
 * One frame in a buffer of its own: not a slice of Node's shared 8 KiB pool, which a small frame
 * kept in the origin's cache would otherwise pin whole.
 */
/**
 * A raw frame of `size` payload bytes made in place at the start of `into` (a batch being filled,
 * origin.ts): its header written, its payload read straight after it by `read`. No frame buffer
 * of its own and no copy: six agents fetching one build raw each cost the origin a copy per frame.
 */
export function rawFrameInto(
  id: ChunkId,
  into: Buffer,
  size: number,
  read: (payload: Buffer) => void,
): Buffer {
  const frame = into.subarray(0, HEADER + size);
  frame.write(id, 0, 32, 'hex');
  frame[32] = CODE.none;
  frame.writeUInt32BE(size, 33);
  read(frame.subarray(HEADER));
  return frame;
}

/** The bytes of a frame's header (id, code, payload length). */
export const FRAME_HEADER = HEADER;

function frameOf(id: ChunkId, code: number, payload: Buffer, alloc: FrameAlloc = ownBuffer): Buffer {
  const frame = alloc(HEADER + payload.length);
  frame.write(id, 0, 32, 'hex');
  frame[32] = code;
  frame.writeUInt32BE(payload.length, 33);
  payload.copy(frame, HEADER);
  return frame;
}

/**
 * Media, archives and other already-compressed bytes would only burn CPU in zlib: a 4 KiB sample
 * that does not shrink by 5% at level 1 means the chunk travels raw.
 */
function looksIncompressible(data: Buffer): boolean {
  if (data.length <= 16 * 1024) return false;
  const sample = data.subarray(data.length >> 1, (data.length >> 1) + 4096);
  // zstd where it loads: a zlib call sets up a fresh context each time (~0.3 ms, more than
  // compressing the sample), zstd reuses one.
  const zstd = loadZstd();
  if (zstd) {
    try {
      return zstd.compress(sample, 1).length > sample.length * 0.95;
    } catch {}
  }
  return zlib.deflateRawSync(sample, { level: 1 }).length > sample.length * 0.95;
}

export type FrameError = { reason: 'corrupt' | 'too-large' | 'bad-encoding' | 'truncated'; message: string };

/**
 * Parses frames from a byte stream, decompresses and verifies each chunk. A frame that lies
 * inside one piece of the stream is read in place; only one that straddles pieces is copied,
 * and then only its own bytes (the stream is never joined into one buffer).
 */
export async function* decodeFrames(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  maxChunk: number,
  /** The base bytes of each chunk this receiver asked for as a delta; other delta frames are refused. */
  base: (id: ChunkId) => Buffer | undefined = () => undefined,
  /**
   * Given, a delta frame that does not rebuild its chunk (a block checksum collision, wire-delta.ts)
   * is passed over and its id handed here, for the caller to fetch that chunk whole; without, it
   * fails the stream like any corrupt frame.
   */
  onDeltaRefused?: (id: ChunkId) => void,
  /**
   * Where whole zstd chunks are decompressed into, and frames that straddle two of the stream's
   * pieces joined (frame-pool.ts: the caller gives each chunk yielded back once done with it);
   * by default buffers of their own. A chunk yielded may also be a view of the stream's own
   * pieces (one that travelled raw) or of a joined frame.
   */
  buffers?: FrameBuffers,
): AsyncGenerator<{ id: ChunkId; data: Buffer; wireBytes: number }, void, void> {
  // Most frames straddle two socket reads (a frame of ~45 KB, reads of 64 KiB): joined in a
  // fresh buffer each, they were ~100 MB of the 200 MB file's allocations, each counted against
  // V8's heap limit as external memory (a major GC every few megabytes on a 10 MB heap).
  const take = buffers && ((n: number) => buffers.take(n));
  // Pieces read to their end go back to the pool once the frame that ended them is decoded (the
  // pool ignores pieces not its own: a socket's reads).
  const spent: Buffer[] = [];
  const queue = new PieceQueue(take, buffers && ((p) => spent.push(p)));
  const maxPayload = maxChunk + 1024;
  for await (const piece of source) {
    queue.push(
      typeof piece === 'string'
        ? Buffer.from(piece)
        : Buffer.isBuffer(piece)
          ? piece
          : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength),
    );
    while (queue.length >= HEADER) {
      const header = queue.peek(HEADER);
      const len = header.readUInt32BE(33);
      if (len > maxPayload) throw frameError('too-large', `frame of ${len} bytes exceeds the chunk limit`);
      if (queue.length < HEADER + len) break;
      const id = header.toString('hex', 0, 32) as ChunkId;
      const code = header[32];
      const { bytes, joined } = queue.take(HEADER + len);
      const payload = bytes.subarray(HEADER);
      const isDelta = code === CODE.delta || code === CODE.zdelta;
      let data: Buffer;
      try {
        data = unpack(code, payload, maxChunk, () => base(id), take);
        if (buffers) {
          // A raw chunk in a piece is copied out: the piece goes back to the pool, the chunk is lent.
          if (!joined && data.buffer === bytes.buffer) data = copyInto(buffers.take(data.length), data);
          // A joined frame whose chunk was decoded out of it is read no more (a raw one is the chunk).
          if (joined && data.buffer !== bytes.buffer) buffers.give(bytes);
          for (const p of spent.splice(0)) buffers.give(p);
        }
        if (chunkIdOf(data) !== id) {
          throw frameError('corrupt', `chunk ${id.slice(0, 12)} does not match its SHA-256`);
        }
      } catch (e) {
        // Only a chunk asked for as a delta: a frame of a chunk without a base stays an error.
        if (!(onDeltaRefused && isDelta && base(id))) throw e;
        onDeltaRefused(id);
        continue;
      }
      yield { id, data, wireBytes: HEADER + len };
    }
  }
  if (queue.length) throw frameError('truncated', 'the chunk stream ended in the middle of a frame');
}

function copyInto(into: Buffer, data: Buffer): Buffer {
  data.copy(into);
  return into;
}

/** The unread bytes of a stream as the pieces it came in, read from the front. */
class PieceQueue {
  readonly #pieces: Buffer[] = [];
  /** Bytes of the first piece already read. */
  #head = 0;
  length = 0;

  constructor(
    /** Where frames that straddle pieces are joined (a fresh buffer each by default). */
    readonly alloc: FrameAlloc = (n) => Buffer.allocUnsafe(n),
    /** Hears of each piece read to its end (a view of it may still be in use). */
    readonly spent: (piece: Buffer) => void = () => {},
  ) {}

  push(piece: Buffer): void {
    if (piece.length === 0) return;
    this.#pieces.push(piece);
    this.length += piece.length;
  }

  /** The next `n` bytes (n <= length) without consuming them: a view when one piece holds them. */
  peek(n: number): Buffer {
    const first = this.#pieces[0]!;
    if (first.length - this.#head >= n) return first.subarray(this.#head, this.#head + n);
    return this.#gather(Buffer.allocUnsafe(n), false);
  }

  /**
   * Consumes the next `n` bytes (n <= length): a view when one piece holds them, else a copy in
   * a buffer from `alloc` (`joined`).
   */
  take(n: number): { bytes: Buffer; joined: boolean } {
    const first = this.#pieces[0]!;
    if (first.length - this.#head >= n) {
      const out = first.subarray(this.#head, this.#head + n);
      this.#head += n;
      this.length -= n;
      if (this.#head === first.length) {
        this.spent(this.#pieces.shift()!);
        this.#head = 0;
      }
      return { bytes: out, joined: false };
    }
    return { bytes: this.#gather(this.alloc(n), true), joined: true };
  }

  #gather(out: Buffer, consume: boolean): Buffer {
    const n = out.length;
    let filled = 0;
    let i = 0;
    let head = this.#head;
    while (filled < n) {
      const p = this.#pieces[i]!;
      const k = Math.min(n - filled, p.length - head);
      p.copy(out, filled, head, head + k);
      filled += k;
      head += k;
      if (head === p.length) {
        i++;
        head = 0;
      }
    }
    if (consume) {
      for (const p of this.#pieces.splice(0, i)) this.spent(p);
      this.#head = head;
      this.length -= n;
    }
    return out;
  }
}

/** A frame's chunk; synchronous, as every decoder here is (no promise per frame). */
function unpack(
  code: number | undefined,
  payload: Buffer,
  maxChunk: number,
  base: () => Buffer | undefined,
  alloc?: FrameAlloc,
): Buffer {
  try {
    switch (code) {
      case CODE.delta: {
        const b = base();
        return decodeDelta(payload, b, maxChunk, deltaBlock(b?.length ?? 0));
      }
      case CODE.zdelta: {
        const b = base();
        return decodeZstdDelta(payload, b, maxChunk, deltaBlock(b?.length ?? 0), zstdHere(), alloc);
      }
      case CODE.zstd:
        return zstdHere().decompress(payload, maxChunk, undefined, alloc);
      case CODE.none:
        if (payload.length > maxChunk) throw frameError('too-large', 'chunk larger than the chunk limit');
        // A view of the stream's piece, not a copy: each piece is a buffer of its own (a socket
        // read's), and whoever keeps a chunk longer than its write copies it (chunk-index.ts).
        return payload;
      case CODE.deflate:
        // Synchronous for the reason encodeFrame gives.
        return zlib.inflateRawSync(payload, { maxOutputLength: maxChunk });
      case CODE.br:
        return zlib.brotliDecompressSync(payload, { maxOutputLength: maxChunk });
      default:
        throw frameError('bad-encoding', `unknown chunk encoding ${code}`);
    }
  } catch (e) {
    if (e instanceof FrameDecodeError) throw e;
    throw frameError('corrupt', `cannot decompress a chunk: ${(e as Error).message}`);
  }
}

/** The zstd codec for a zstd frame; a receiver only gets one when it asked, but a sender may lie. */
function zstdHere() {
  const z = loadZstd();
  if (!z) throw frameError('bad-encoding', 'a zstd frame, but zstd-napi cannot be loaded here');
  return z;
}

/** Thrown by decodeFrames; the HTTP layers turn it into a 400 or a failed transfer. */
export class FrameDecodeError extends Error {
  constructor(readonly failure: FrameError) {
    super(failure.message);
  }
}

function frameError(reason: FrameError['reason'], message: string): FrameDecodeError {
  return new FrameDecodeError({ reason, message });
}
