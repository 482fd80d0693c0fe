/**
 * Chunks on the wire: a stream of frames `[32-byte SHA-256][1-byte encoding][u32 length][payload]`,
 * each payload compressed on its own or a delta against a chunk the receiver named (so a relay can pass frames on and a receiver verifies every
 * chunk as it lands). Decompression is capped at the largest chunk size (no zip bombs). This
 * file is the format and the sending side; wire-decode.ts the receiving side.
 */
import zlib from 'node:zlib';
import type { ChunkId } from './types.js';
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
export const CODE: Record<Code, number> = { none: 0, deflate: 1, br: 2, delta: 3, zstd: 4, zdelta: 5 };
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
 * reads any more (a buffer not of the pool is ignored), `hold` counts one more user of a buffer
 * lent (a view of it passed on), who gives it back too.
 */
export interface FrameBuffers {
  take: FrameAlloc;
  give(b: Buffer): void;
  hold(b: Buffer): void;
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
