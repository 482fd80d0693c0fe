/**
 * zstd for the deploy transfer, through the optional `zstd-napi` addon (Node 20's zlib has no
 * zstd). Loaded on first use; where it cannot load (not installed, no prebuilt binary and no
 * compiler when it was installed) or `SLIPWAY_ZSTD=0`, `loadZstd()` answers undefined and both
 * ends of a transfer keep to Brotli: a missing addon never fails a deploy.
 *
 * One compression and one decompression context per process, reused for every chunk (creating
 * them costs more than compressing a small chunk); all calls are synchronous, so nothing
 * interleaves on them.
 */
import { createRequire } from 'node:module';

/** The part of zstd-napi's thin binding used here (zstd-napi/binding.d.ts). */
interface Binding {
  CCtx: new () => {
    compress(dst: Uint8Array, src: Uint8Array, level: number): number;
    compressUsingDict(dst: Uint8Array, src: Uint8Array, dict: Uint8Array, level: number): number;
  };
  DCtx: new () => {
    decompress(dst: Uint8Array, src: Uint8Array): number;
    decompressUsingDict(dst: Uint8Array, src: Uint8Array, dict: Uint8Array): number;
    decompressStream(dst: Uint8Array, src: Uint8Array): [ret: number, produced: number, consumed: number];
    setParameter(param: number, value: number): void;
  };
  DParameter: { windowLogMax: number };
  compressBound(size: number): number;
  getFrameContentSize(frame: Uint8Array): number | null;
  versionString(): string;
}

export interface Zstd {
  readonly version: string;
  /**
   * One zstd frame of `data` (its size recorded in the frame) at `level`, with `dict` as raw
   * content both ends hold when given. The result is a view of a scratch buffer, valid until the
   * next call: copy it (a frame does) before compressing again.
   */
  compress(data: Buffer, level: number, dict?: Buffer): Buffer;
  /**
   * The content of one frame of at most `max` bytes (no zip bombs); throws on a bad frame. Into
   * a buffer from `alloc` when given (a fresh one of its own otherwise).
   */
  decompress(frame: Buffer, max: number, dict?: Buffer, alloc?: (n: number) => Buffer): Buffer;
  /** A decoder of a stream of frames fed piece by piece (a streamed stage's body), a context of its own. */
  decoder(): ZstdDecoder;
}

/** Decodes a stream of zstd frames as its pieces come, synchronously (stream-exchange.ts). */
export interface ZstdDecoder {
  /**
   * Decodes `piece`, handing each run of output to `out`: a view of a scratch buffer, valid
   * only until `out` returns; decoding stops where `out` returns false (the rest of the piece is
   * not decoded: a few bytes of zstd may stand for gigabytes). Throws on corrupt data.
   */
  write(piece: Buffer, out: (decoded: Buffer) => boolean): void;
  /** Whether the input so far ends where a frame does (not inside one). */
  readonly whole: boolean;
}

/**
 * The largest window a streamed body's frame may ask of the decoder: 8 MiB (a frame of the
 * feed holds a batch of ~256 KB, stream-feed.ts). zstd's default limit, 128 MiB, would let a
 * caller make the agent allocate that much per request.
 */
const DECODER_WINDOW_LOG = 23;

/** The output scratch of a stream decoder: zstd's recommended size (ZSTD_DStreamOutSize). */
const DECODER_OUT = 128 * 1024;

let loaded: Zstd | null | undefined;

/** The least compression scratch: compressBound of a 256 KiB chunk, rounded up. */
const SCRATCH_MIN = 264 * 1024;

/** The zstd codec, or undefined where zstd-napi cannot be loaded or `SLIPWAY_ZSTD=0`. */
export function loadZstd(): Zstd | undefined {
  if (loaded === undefined) loaded = process.env.SLIPWAY_ZSTD === '0' ? null : tryLoad();
  return loaded ?? undefined;
}

function tryLoad(): Zstd | null {
  let b: Binding;
  try {
    // Through createRequire, so the bundler leaves the native addon to be found at run time.
    b = createRequire(import.meta.url)('zstd-napi/binding') as Binding;
  } catch {
    return null;
  }
  const cctx = new b.CCtx();
  const dctx = new b.DCtx();
  let scratch = Buffer.alloc(0);
  return {
    version: b.versionString(),
    compress(data, level, dict) {
      const bound = b.compressBound(data.length);
      // Grown to at least the bound of a default-sized largest chunk (256 KiB) at once: grown
      // chunk by chunk, each new buffer's pages faulted in again (~7 ms of the origin's CPU over
      // the 200 MB file's 1% edit).
      if (scratch.length < bound) scratch = Buffer.allocUnsafeSlow(Math.max(bound, SCRATCH_MIN));
      const n = dict?.length
        ? cctx.compressUsingDict(scratch, data, dict, level)
        : cctx.compress(scratch, data, level);
      return scratch.subarray(0, n);
    },
    decompress(frame, max, dict, alloc) {
      const size = b.getFrameContentSize(frame);
      if (size === null) throw new Error('a zstd frame without its content size');
      if (size > max) throw new Error(`a zstd frame of ${size} bytes exceeds the chunk limit`);
      // Exactly the announced size: a frame that holds more (or a second frame) fails here.
      const out = alloc ? alloc(size) : Buffer.allocUnsafeSlow(size);
      const n = dict?.length ? dctx.decompressUsingDict(out, frame, dict) : dctx.decompress(out, frame);
      if (n !== size) throw new Error('a zstd frame shorter than its announced size');
      return out;
    },
    decoder() {
      const d = new b.DCtx();
      d.setParameter(b.DParameter.windowLogMax, DECODER_WINDOW_LOG);
      const out = Buffer.allocUnsafe(DECODER_OUT);
      let whole = true;
      return {
        get whole() {
          return whole;
        },
        write(piece, hand) {
          // Nothing to decode (and an empty call between frames would read as inside one).
          if (piece.length === 0) return;
          let src = piece;
          // Until the input is taken and the output did not fill (zstd may hold more then).
          for (;;) {
            const [ret, produced, consumed] = d.decompressStream(out, src);
            whole = ret === 0;
            if (produced > 0 && !hand(out.subarray(0, produced))) return;
            src = src.subarray(consumed);
            if (src.length === 0 && produced < out.length) return;
          }
        },
      };
    },
  };
}
