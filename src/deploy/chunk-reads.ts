/**
 * How the origin reads chunks from the artifact folder: small ones with a synchronous open, read
 * and close; those of large files through handles kept open for the origin's lifetime, into one
 * reused buffer when the caller is done with the bytes on return.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import type { ChunkSource } from './artifact.js';

/** Reads a chunk's bytes from the artifact folder. */
export async function readChunk(src: ChunkSource): Promise<Buffer> {
  // Small chunks (small files) are read on the calling thread: one thread-pool round trip per
  // open, read and close costs more than the read itself.
  if (src.size <= 64 * 1024) return readChunkSync(src);
  const fh = await open(src.file, 'r');
  try {
    const buf = Buffer.allocUnsafe(src.size);
    const { bytesRead } = await fh.read(buf, 0, src.size, src.offset);
    if (bytesRead !== src.size) throw new Error(`${src.file} changed while deploying`);
    return buf;
  } finally {
    await fh.close();
  }
}

function readChunkSync(src: ChunkSource): Buffer {
  const fd = openSync(src.file, 'r');
  try {
    const buf = Buffer.allocUnsafe(src.size);
    if (readSync(fd, buf, 0, src.size, src.offset) !== src.size)
      throw new Error(`${src.file} changed while deploying`);
    return buf;
  } finally {
    closeSync(fd);
  }
}

/**
 * Chunk reads that keep large files open for the origin's lifetime (a 200 MB file is thousands
 * of chunks: one open and close each cost more than the read); small files are opened per read.
 */
export class LargeFiles {
  readonly #open = new Map<string, Promise<FileHandle>>();
  /**
   * Set by close: a read still on its way (a request's read-ahead when the origin closes) then
   * opens and closes a handle of its own instead of keeping one that nobody would close.
   */
  #closed = false;
  static readonly LARGE = 1024 * 1024;
  static readonly MAX_OPEN = 64;

  /**
   * The one buffer that chunks of large files are read into when `use` is done with them on
   * return: a fresh Buffer per chunk was, with each frame's, the allocation that set off the
   * deployer's collections ("external memory pressure"; the 200 MB file's first deploy: 3,000
   * chunk-sized allocations fewer).
   */
  #scratch = Buffer.alloc(0);

  /** A chunk's bytes in a fresh buffer the caller may keep. */
  async read(src: ChunkSource): Promise<Buffer> {
    const fh = this.#handle(src);
    if (!fh) return readChunk(src);
    return LargeFiles.#readInto(await fh, src, Buffer.allocUnsafe(src.size));
  }

  /**
   * `use` of a chunk's bytes, which may be a view of a reused buffer, valid only until `use`
   * returns: it must not keep them (encodeFrameSync does not).
   */
  async use<T>(src: ChunkSource, use: (data: Buffer) => T): Promise<T> {
    const fh = this.#handle(src);
    if (!fh) return use(await readChunk(src));
    const handle = await fh;
    // Read and used with no await in between: no other chunk is read into it meanwhile.
    if (this.#scratch.length < src.size)
      this.#scratch = Buffer.allocUnsafeSlow(Math.max(src.size, 256 * 1024));
    return use(LargeFiles.#readInto(handle, src, this.#scratch.subarray(0, src.size)));
  }

  /** The open handle of a large file (opened now when it was not), or undefined for the others. */
  #handle(src: ChunkSource): Promise<FileHandle> | undefined {
    let fh = this.#open.get(src.file);
    if (!fh) {
      if (this.#closed || src.offset + src.size < LargeFiles.LARGE || this.#open.size >= LargeFiles.MAX_OPEN)
        return undefined;
      fh = open(src.file, 'r');
      fh.catch(() => this.#open.delete(src.file));
      this.#open.set(src.file, fh);
    }
    return fh;
  }

  static #readInto(handle: FileHandle, src: ChunkSource, buf: Buffer): Buffer {
    // On the calling thread too: the chunking read these bytes moments ago (the page cache has
    // them), and a thread-pool round trip per chunk wakes a pool thread that, on a busy two-core
    // machine, takes the CPU from this one (the 200 MB file's 10% edit: ~0.2 s of the origin's
    // wall time inside read calls).
    let got = 0;
    while (got < src.size) {
      const n = readSync(handle.fd, buf, got, src.size - got, src.offset + got);
      if (n === 0) break;
      got += n;
    }
    if (got !== src.size) throw new Error(`${src.file} changed while deploying`);
    return buf;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#open.values()];
    this.#open.clear();
    await Promise.allSettled(all.map((p) => p.then((fh) => fh.close())));
  }
}
