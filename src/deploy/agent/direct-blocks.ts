/**
 * A large file of a streamed stage (stream-files.ts: a first deploy's) written with direct I/O:
 * its chunks, as they come (up to four transfers at once, each in file order), are copied into
 * aligned 1 MiB blocks held here, and each block, once whole, is written to the disk without the
 * page cache; the last one rounded up to whole pages, the file then cut to its length.
 *
 * Why (as aligned-writes.ts for a file made from its base): a buffered write copies every byte
 * into page-cache pages the kernel allocates for it, and on this VM (Firecracker, free page
 * reporting at 8 MiB) pages not used lately cost the host's fault at first touch. The 200 MB
 * file's first deploy spent 20-630 ms of the agent's kernel time by run in that copy (perf:
 * copy_folio_from_iter_atomic, 6 samples in a fast run against 222 in a slow one at 499 Hz, and
 * the pool's writers spinning on the file's lock), the swing of its time between runs. The blocks
 * here are the same few MiB of this process's memory, file after file; the file is synced before
 * activation anyway (durability.ts), so the cache bought nothing but the copy.
 *
 * Only while direct writes pay (direct-pace.ts) and the kernel takes them (found once per file by
 * a direct write of one page from each candidate start of the buffers); otherwise, and for a block
 * that finds no free buffer (chunks far ahead of the others), the bytes go through `fd`, the
 * file's ordinary descriptor, as before. Blocks are page-aligned, so buffered and direct writes
 * never meet in one page.
 */
import { constants, write } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { trace } from '../../util/trace.js';
import { noteWrittenDirect } from './direct-bases.js';
import { DirectPace, directWritesPay, noteDirectPace } from './direct-pace.js';

/** File offsets, lengths and buffer addresses of direct writes are multiples of this. */
const ALIGN = 4096;
/** Bytes per block. */
const BLOCK = 1024 * 1024;
/**
 * Blocks held at once: four transfers of 4 MiB (stream-stage.ts) fill at most a block each at a
 * time, plus one at each end of a transfer's range waiting for its neighbour's, plus those being
 * written.
 */
const HELD = 12;

/** Files from this size on are written here when their size is known ahead (not in parts). */
export const DIRECT_STREAM_MIN = 32 * 1024 * 1024;

const writeFd = promisify(write);

interface Held {
  buf: Buffer;
  filled: number;
}

export class DirectBlocks {
  /** The file opened for direct writes, once the buffers' alignment is found; undefined: buffered. */
  #direct: FileHandle | undefined;
  readonly #free: Buffer[] = [];
  readonly #held = new Map<number, Held>();
  /** Blocks that found no buffer: every byte of them goes buffered. */
  readonly #overflow = new Set<number>();
  readonly #writes = new Set<Promise<void>>();
  #failure: unknown;
  readonly #pace = new DirectPace();
  /** Resolves once the direct descriptor is found or refused. */
  readonly ready: Promise<void>;
  #isReady = false;

  /** `file`: created, empty, opened by the caller as `fd`. */
  constructor(
    readonly file: string,
    readonly fd: number,
  ) {
    this.ready = this.#open().then(
      () => {
        this.#isReady = true;
      },
      () => {
        this.#isReady = true;
      },
    );
  }

  /** Whether a large streamed file is written here: while direct writes pay, where O_DIRECT exists. */
  static wanted(): boolean {
    return (constants as Record<string, number | undefined>).O_DIRECT !== undefined && directWritesPay();
  }

  async #open(): Promise<void> {
    const direct = (constants as Record<string, number | undefined>).O_DIRECT;
    if (direct === undefined) return;
    const fh = await open(this.file, constants.O_WRONLY | direct).catch(() => undefined);
    if (!fh) return;
    const size = HELD * BLOCK + ALIGN;
    // Not kept for the next file: an agent that kept it held 12 MiB more through the edits after
    // (peak RSS +5-10 MB), and a first deploy has one such file or a few.
    const raw = Buffer.allocUnsafeSlow(size);
    // The buffers' address is not known to JavaScript: a direct write of one page at the file's
    // start from each candidate tells (refused ones fail at once with EINVAL, with no I/O).
    // malloc's large blocks are mmap'd with a 16-byte header: its page boundary is tried first.
    const candidates = [ALIGN - 16];
    for (let at = 0; at < ALIGN; at += 16) if (at !== ALIGN - 16) candidates.push(at);
    for (const at of candidates) {
      try {
        raw.fill(0, at, at + ALIGN);
        await fh.write(raw, at, ALIGN, 0);
        for (let k = 0; k < HELD; k++) this.#free.push(raw.subarray(at + k * BLOCK, at + (k + 1) * BLOCK));
        this.#direct = fh;
        return;
      } catch (x) {
        if ((x as NodeJS.ErrnoException).code !== 'EINVAL') break;
      }
    }
    await fh.close();
    trace(`direct writes refused for ${this.file}: buffered`);
  }

  /**
   * Takes `data` for the file at `at`: copied into its blocks (whole ones are written at once),
   * or written buffered. Synchronous once `ready`; `data` is only read until this returns (or settles).
   */
  put(data: Buffer, at: number): void | Promise<void> {
    if (!this.#isReady) return this.ready.then(() => this.put(data, at));
    if (this.#failure !== undefined) throw this.#failure;
    for (let p = at; p < at + data.length; ) {
      const k = Math.floor(p / BLOCK);
      const end = Math.min(at + data.length, (k + 1) * BLOCK);
      const held = this.#direct && !this.#overflow.has(k) ? this.#block(k) : undefined;
      if (held) {
        data.copy(held.buf, p - k * BLOCK, p - at, end - at);
        held.filled += end - p;
        if (held.filled === BLOCK) {
          this.#held.delete(k);
          this.#write(k, held.buf, BLOCK);
        }
      } else {
        // Copied: the caller's buffer is reused once this returns.
        this.#track(this.#writeBuffered(Buffer.from(data.subarray(p - at, end - at)), p));
      }
      p = end;
    }
  }

  /** Block k's buffer, taken from the free ones when it has none; undefined when none is free. */
  #block(k: number): Held | undefined {
    const held = this.#held.get(k);
    if (held) return held;
    const buf = this.#free.pop();
    if (!buf) {
      this.#overflow.add(k);
      return undefined;
    }
    const fresh = { buf, filled: 0 };
    this.#held.set(k, fresh);
    return fresh;
  }

  /** Writes `len` bytes of block k from `buf` direct (rounded up to whole pages); the buffer freed after. */
  #write(k: number, buf: Buffer, len: number): void {
    const whole = Math.ceil(len / ALIGN) * ALIGN;
    const fh = this.#direct!;
    const pace = this.#pace;
    const run = async () => {
      let done = 0;
      while (done < whole) {
        pace.started();
        let n = 0;
        try {
          n = (await fh.write(buf, done, whole - done, k * BLOCK + done)).bytesWritten;
        } finally {
          pace.finished(n);
        }
        if (n <= 0 || n % ALIGN) throw new Error(`a direct write of ${this.file} came out short`);
        done += n;
      }
    };
    this.#track(run().finally(() => this.#free.push(buf)));
  }

  /** Writes `data` at `at` through the file's ordinary descriptor. */
  async #writeBuffered(data: Buffer, at: number): Promise<void> {
    for (let n = 0; n < data.length; ) {
      const { bytesWritten } = await writeFd(this.fd, data, n, data.length - n, at + n);
      if (bytesWritten <= 0) throw new Error(`a write of ${this.file} came out short`);
      n += bytesWritten;
    }
  }

  #track(w: Promise<void>): void {
    const t = w.catch((e: unknown) => {
      this.#failure ??= e;
    });
    this.#writes.add(t);
    void t.finally(() => this.#writes.delete(t));
  }

  /**
   * Every byte of the file (`size` in all) was put: the last block written, the file cut to its
   * length, every write done. Throws what failed.
   */
  async finish(size: number): Promise<void> {
    await this.ready;
    try {
      const last = Math.floor(Math.max(0, size - 1) / BLOCK);
      for (const [k, held] of this.#held) {
        const len = Math.min(BLOCK, size - k * BLOCK);
        if (k !== last || held.filled !== len) throw new Error(`${this.file}: block ${k} is incomplete`);
        this.#held.delete(k);
        this.#write(k, held.buf, len);
      }
      while (this.#writes.size) await Promise.all([...this.#writes]);
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#direct) {
        // The last block went rounded up (or the probe's page past a short file's end).
        await this.#direct.truncate(size);
        noteWrittenDirect(await this.#direct.stat());
        if (this.#overflow.size)
          trace(`${this.file}: ${this.#overflow.size} blocks went buffered (no free buffer)`);
        if (noteDirectPace(this.#pace))
          trace(`direct writes off: ${this.file} went at ${Math.round(this.#pace.pace()! / 1024)} MB/s`);
      }
    } finally {
      await this.close();
    }
  }

  /**
   * Closes the direct descriptor, once the writes under way are done (the caller closes `fd`
   * after this settles); the buffers let go.
   */
  async close(): Promise<void> {
    await this.ready;
    while (this.#writes.size) await Promise.all([...this.#writes]);
    const direct = this.#direct;
    this.#direct = undefined;
    this.#held.clear();
    this.#free.length = 0;
    await direct?.close();
  }
}
