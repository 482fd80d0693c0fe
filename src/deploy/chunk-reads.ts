/**
 * How the origin reads chunks from the artifact folder: on the calling thread, through
 * descriptors kept open while chunks of their file are still being asked for, into one reused
 * buffer when the caller is done with the bytes on return.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { ChunkSource } from './chunk-index.js';

/** Reads a chunk's bytes from the artifact folder (open, read and close). */
export async function readChunk(src: ChunkSource): Promise<Buffer> {
  const fd = openSync(src.file, 'r');
  try {
    return readAt(fd, src, Buffer.allocUnsafe(src.size));
  } finally {
    closeSync(fd);
  }
}

/**
 * Chunk reads for the origin. Every read is synchronous: the walk read these bytes moments ago
 * (the page cache has them), and a thread-pool round trip per open, read and close woke a pool
 * thread that, on a busy two-core machine, took the CPU from this one (the web build's first
 * deploy: ~0.15 s of the deployer's CPU in the promise API's opens and closes of chunks past
 * 64 KiB). Descriptors stay open, the most recently used `MAX_OPEN` of them, so the chunks of
 * a file (asked for one after the other, in manifest order) cost one open in all, and a 200 MB
 * file's thousands of chunks one open instead of thousands.
 *
 * Small files are read again here, not kept from the walk: measured on the bench's 20,000 small
 * files (40 MB), keeping the walk's bytes in 1 MiB slabs (read straight into them, no copy)
 * saved ~50-100 ms of serving CPU (the re-reads really cost ~110 ms, well under what a profile
 * on a loaded machine shows) but cost the walk about as much (fresh pages: ~30 ms of page
 * faults alone), made the walk slower in the deploy A/B (wall 1.11x), and added ~33 MB to the
 * deployer's peak RSS.
 */
export class ChunkFiles {
  /** Open descriptors by file, least recently used first. */
  readonly #open = new Map<string, number>();
  /**
   * Set by close: a read still on its way (a request's read-ahead when the origin closes) then
   * opens and closes a descriptor of its own instead of keeping one that nobody would close.
   */
  #closed = false;
  /**
   * Enough for six agents fetching one build at once (their four requests each at different
   * places of it): at 64 the web build's fan-out reopened a file for nearly every chunk sent
   * (~11,000 opens and closes of 2,000 files, ~0.15 s of the origin's CPU). Should the process
   * run out of descriptors anyway, the oldest half is closed and the open tried again (#fd).
   */
  static readonly MAX_OPEN = 1024;

  /**
   * The one buffer that chunks are read into when `use` is done with them on return: a fresh
   * Buffer per chunk was, with each frame's, the allocation that set off the deployer's
   * collections ("external memory pressure").
   */
  #scratch = Buffer.alloc(0);

  /** A chunk's bytes in a fresh buffer the caller may keep. */
  async read(src: ChunkSource): Promise<Buffer> {
    return this.readSync(src, Buffer.allocUnsafe(src.size));
  }

  /** `read` into `into` (at least `src.size` bytes), synchronously; returns the chunk's view of it. */
  readSync(src: ChunkSource, into: Buffer): Buffer {
    if (this.#closed) {
      const own = openSync(src.file, 'r');
      try {
        return readAt(own, src, into.subarray(0, src.size));
      } finally {
        closeSync(own);
      }
    }
    const fd = this.#fd(src.file);
    try {
      return readAt(fd, src, into.subarray(0, src.size));
    } catch (e) {
      // A file replaced or truncated meanwhile: the next read opens it afresh.
      this.#drop(src.file);
      throw e;
    }
  }

  /**
   * `use` of a chunk's bytes, which may be a view of a reused buffer, valid only until `use`
   * returns: it must not keep them (encodeFrameSync does not).
   */
  async use<T>(src: ChunkSource, use: (data: Buffer) => T): Promise<T> {
    // Read and used with no await in between: no other chunk is read into it meanwhile.
    if (this.#scratch.length < src.size)
      this.#scratch = Buffer.allocUnsafeSlow(Math.max(src.size, 256 * 1024));
    return use(this.readSync(src, this.#scratch));
  }

  /** Descriptors open now (for tests). */
  get openFiles(): number {
    return this.#open.size;
  }

  #fd(file: string): number {
    const fd = this.#open.get(file);
    if (fd !== undefined) {
      this.#open.delete(file);
      this.#open.set(file, fd);
      return fd;
    }
    const opened = this.#openSparing(file);
    if (this.#open.size >= ChunkFiles.MAX_OPEN) {
      const [oldest, ofd] = this.#open.entries().next().value as [string, number];
      this.#open.delete(oldest);
      closeSync(ofd);
    }
    this.#open.set(file, opened);
    return opened;
  }

  /** Opens `file`; out of descriptors (EMFILE, ENFILE), closes the oldest half of those kept and tries once more. */
  #openSparing(file: string): number {
    try {
      return openSync(file, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== 'EMFILE' && code !== 'ENFILE') || this.#open.size === 0) throw e;
      for (const old of [...this.#open.keys()].slice(0, Math.ceil(this.#open.size / 2))) this.#drop(old);
      return openSync(file, 'r');
    }
  }

  #drop(file: string): void {
    const fd = this.#open.get(file);
    if (fd === undefined) return;
    this.#open.delete(file);
    try {
      closeSync(fd);
    } catch {}
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const file of [...this.#open.keys()]) this.#drop(file);
  }
}

function readAt(fd: number, src: ChunkSource, buf: Buffer): Buffer {
  let got = 0;
  while (got < src.size) {
    const n = readSync(fd, buf, got, src.size - got, src.offset + got);
    if (n === 0) break;
    got += n;
  }
  if (got !== src.size) throw new Error(`${src.file} changed while deploying`);
  return buf;
}
