/**
 * The receiving side of the chunk wire (wire.ts has the format and the sending side): frames
 * parsed from a byte stream, each chunk decompressed (capped at the largest chunk size) or
 * rebuilt from its delta, and verified against its SHA-256 before it is yielded.
 */
import zlib from 'node:zlib';
import { chunkIdOf } from './fastcdc.js';
import type { ChunkId } from './types.js';
import { CODE, type FrameAlloc, type FrameBuffers, FRAME_HEADER as HEADER } from './wire.js';
import { deltaBlock } from './wire-delta.js';
import { decodeDelta, decodeZstdDelta } from './wire-delta-decode.js';
import { loadZstd } from './zstd.js';

export type FrameError = { reason: 'corrupt' | 'too-large' | 'bad-encoding' | 'truncated'; message: string };

/** A chunk decoded from its frame: verified against its id; `wireBytes` its frame's length. */
export interface DecodedFrame {
  id: ChunkId;
  data: Buffer;
  wireBytes: number;
}

/**
 * Parses frames from a byte stream, decompresses and verifies each chunk: one at a time (see
 * decodeFrameBatches, which this unpacks).
 */
export async function* decodeFrames(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  maxChunk: number,
  base: (id: ChunkId) => Buffer | undefined = () => undefined,
  onDeltaRefused?: (id: ChunkId) => void,
  buffers?: FrameBuffers,
): AsyncGenerator<DecodedFrame, void, void> {
  for await (const batch of decodeFrameBatches(source, maxChunk, base, onDeltaRefused, buffers)) yield* batch;
}

/**
 * Parses frames from a byte stream, decompresses and verifies each chunk, and yields the chunks
 * of each piece of the stream together (never an empty batch): a first deploy of 20,000 small
 * files is ~20,000 frames in ~1,000 socket reads, and each step of an async generator (a promise,
 * its reactions, a turn of the microtask queue) cost the receiver more than a small frame's
 * decoding. A frame that lies inside one piece of the stream is read in place; only one that
 * straddles pieces is copied, and then only its own bytes (the stream is never joined into one
 * buffer). A failure after some frames of a piece yields those first, then throws.
 */
export async function* decodeFrameBatches(
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
): AsyncGenerator<DecodedFrame[], void, void> {
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
    const batch: DecodedFrame[] = [];
    let failure: { e: unknown } | undefined;
    try {
      decodeQueued(queue, batch);
    } catch (e) {
      failure = { e };
    }
    if (batch.length) yield batch;
    if (failure) throw failure.e;
  }
  if (queue.length) throw frameError('truncated', 'the chunk stream ended in the middle of a frame');

  /** The whole frames queued, decoded into `batch` (throws at the first bad one). */
  function decodeQueued(queue: PieceQueue, batch: DecodedFrame[]): void {
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
        data = unpack(code, payload, maxChunk, base, id, take);
        if (buffers) {
          // A raw chunk read in place is lent as it is, a view of the pieces' buffer (a slab of the
          // pool, body-stream.ts), which goes back once the chunk is given back too.
          if (!joined && data.buffer === bytes.buffer) buffers.hold(data);
          // A joined frame whose chunk was decoded out of it is read no more (a raw one is the chunk).
          if (joined && data.buffer !== bytes.buffer) buffers.give(bytes);
          // Not splice(0): an array per frame, nearly always empty.
          for (let i = 0; i < spent.length; i++) buffers.give(spent[i]!);
          spent.length = 0;
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
      batch.push({ id, data, wireBytes: HEADER + len });
    }
  }
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
    const out = Buffer.allocUnsafe(n);
    this.#copy(out, n);
    return out;
  }

  /**
   * Consumes the next `n` bytes (n <= length): a view when one piece holds them, or pieces that
   * lie one after the other in one buffer (reads into one slab, body-stream.ts), else a copy in
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
    if (this.#adjacent(n)) {
      const out = Buffer.from(first.buffer, first.byteOffset + this.#head, n);
      this.#gather(undefined, n);
      return { bytes: out, joined: false };
    }
    const out = this.alloc(n);
    this.#gather(out, n);
    return { bytes: out, joined: true };
  }

  /** Whether the pieces holding the next `n` bytes lie one right after the other in one buffer. */
  #adjacent(n: number): boolean {
    let p = this.#pieces[0]!;
    let have = p.length - this.#head;
    for (let i = 1; have < n; i++) {
      const q = this.#pieces[i]!;
      if (q.buffer !== p.buffer || q.byteOffset !== p.byteOffset + p.length) return false;
      have += q.length;
      p = q;
    }
    return true;
  }

  /** Consumes the next `n` bytes (n <= length), copied into `out` if given. */
  #gather(out: Buffer | undefined, n: number): void {
    const { pieces, head } = this.#copy(out, n);
    for (const p of this.#pieces.splice(0, pieces)) this.spent(p);
    this.#head = head;
    this.length -= n;
  }

  /**
   * Copies the next `n` bytes into `out` (if given) without consuming them: the pieces read to
   * their end and where the next byte is in the one after.
   */
  #copy(out: Buffer | undefined, n: number): { pieces: number; head: number } {
    let filled = 0;
    let i = 0;
    let head = this.#head;
    while (filled < n) {
      const p = this.#pieces[i]!;
      const k = Math.min(n - filled, p.length - head);
      out && p.copy(out, filled, head, head + k);
      filled += k;
      head += k;
      if (head === p.length) {
        i++;
        head = 0;
      }
    }
    return { pieces: i, head };
  }
}

/** A frame's chunk; synchronous, as every decoder here is (no promise per frame). */
function unpack(
  code: number | undefined,
  payload: Buffer,
  maxChunk: number,
  /** The bases of chunks asked for as deltas, by chunk (`id`'s only asked for a delta frame). */
  base: (id: ChunkId) => Buffer | undefined,
  id: ChunkId,
  alloc?: FrameAlloc,
): Buffer {
  try {
    switch (code) {
      case CODE.delta: {
        const b = base(id);
        return decodeDelta(payload, b, maxChunk, deltaBlock(b?.length ?? 0), alloc);
      }
      case CODE.zdelta: {
        const b = base(id);
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
