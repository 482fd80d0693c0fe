/**
 * Flushes of the filesystem while a large staging's chunks still arrive: the bytes written so far
 * go to disk beside the transfer, and the assembly's durable step (assembly.ts), which still
 * flushes or syncs everything, finds little left to write. A first deploy of 20,000 small files
 * spent 0.2-0.4 s waiting on that final flush with nothing else to do. Nothing relies on these
 * flushes: a failed one is ignored.
 */
import { trace } from '../../util/trace.js';
import { syncFilesystem } from './durability.js';

/** Below this many bytes to fetch, the final flush is short anyway: none is started early. */
const MIN_BYTES = 16 * 1024 * 1024;

/**
 * A streamed stage flushes every this many small files written (its large ones are synced as they
 * grow: stream-files.ts SYNC_STEP), the first once this many were. Counted in files, not bytes:
 * what left the durable step waiting was 20,000 files' inodes and blocks (42 MB), while 2,000
 * files of 50 MB flushed in 15-27 ms; and a flush per 24 MiB, in each of six agents deploying
 * that web build at once (the fan-out, whose header lists it all: one flush at half as well,
 * forTransfer), made their first deploy slower (wall 1.2-1.3x). Every 8,192 rather than 4,096: a
 * flush's writeback (ext4's, on kernel threads) ran from the first flush to the end of the
 * transfer, ~200 ms of CPU beside the agent's thread and the deployer's walk on a 2-core machine;
 * two and the last instead of four and the last, 20,000 files' first deploy 0.963 and 0.986 (10
 * pairs each order, scripts/deploy-ab.mjs small first).
 */
const STREAM_FILES = 8192;

/** The last flush (`last`) of a stream is started only if this many files were written since the one before. */
const STREAM_LAST_MIN = 256;

/**
 * A transfer's last flush (`last`, once every chunk is written) is started only if this many
 * bytes were written since the one before. The web build's first deploy (50 MB streamed, one
 * flush at half) left its durable step 15-25 ms of flushing after the manifest's checks and the
 * assembly's pass (8-20 ms), which the last flush now runs beside.
 */
const TRANSFER_LAST_MIN = 4 * 1024 * 1024;

export class EarlyFlush {
  #since = 0;
  #started = 0;
  #running = false;
  /** `last` was called while a flush ran: one more once it is over. */
  #lastWanted = false;

  private constructor(
    readonly dir: string,
    /** Written (bytes, or files: forStream) between two flushes. */
    readonly step: number,
    readonly max: number,
    /** Written before the first flush. */
    readonly first = step,
    /** Written since the one before for a `last` flush. */
    readonly lastMin = Number.POSITIVE_INFINITY,
  ) {}

  /** Flushes started so far (for tests). */
  get started(): number {
    return this.#started;
  }

  /** Whether a flush runs (for tests). */
  get running(): boolean {
    return this.#running;
  }

  /**
   * For a staging in `dir` about to fetch `bytes` of a release of `total`: one flush once half of
   * them have been written, and a `last` once all are (a streamed stage's: stream-stage.ts), beside
   * the manifest's checks and the assembly's pass. Not more while chunks still come: a flush
   * beside the transfer makes the agent's writes dearer
   * (the web build's first deploy streamed with a flush every 8 MiB: its main thread's CPU +50 ms,
   * time in the kernel's buffered writes +30% (perf), for 80 ms less waiting on the durable
   * step; wall 0.96-1.24 by load). Undefined for small
   * transfers, and for edits (most of the release already here): their large files written from
   * an earlier version are flushed as they are written (file-writes.ts, writeFromBaseFile).
   */
  static forTransfer(dir: string, bytes: number, total: number): EarlyFlush | undefined {
    return bytes >= MIN_BYTES && bytes * 2 > total
      ? new EarlyFlush(dir, bytes / 2, 1, bytes / 2, TRANSFER_LAST_MIN)
      : undefined;
  }

  /**
   * For a streamed stage in `dir`, whose size its stream's header does not tell (the deployer
   * starts it after listing a few hundred files), counting files written (`wrote(files)`):
   * flushes as they are written, one at a time, every STREAM_FILES; and the `last` once every
   * file is written, beside the manifest's checks and the assembly's pass. With one flush at
   * the end only (none began early: the header said 0.5 MB), a first deploy of 20,000 small
   * files waited 0.18-0.57 s on it with nothing else to do; 20-70 ms with these.
   */
  static forStream(dir: string): EarlyFlush {
    return new EarlyFlush(dir, STREAM_FILES, Number.POSITIVE_INFINITY, STREAM_FILES, STREAM_LAST_MIN);
  }

  /** `n` more bytes (files: forStream) were written under `dir`. */
  wrote(n: number): void {
    this.#since += n;
    const due = this.#started === 0 ? this.first : this.step;
    if (this.#running || this.#since < due || this.#started >= this.max) return;
    this.#start();
  }

  /**
   * Everything is written: what the flushes so far left is flushed too (after the running one, if
   * any), so the durable step that follows finds little. Only after an early flush began (a
   * large transfer) and when enough came since.
   */
  last(): void {
    // One more than `max`: the last comes once nothing more is written beside it.
    if (this.#started === 0 || this.#started > this.max || this.#since < this.lastMin) return;
    if (this.#running) this.#lastWanted = true;
    else this.#start();
  }

  #start(): void {
    this.#since = 0;
    this.#started++;
    this.#running = true;
    const n = this.#started;
    trace(`early flush ${n}: begun`);
    // syncfs(2), as the durable step flushes (durability.ts): a failed one is ignored.
    void syncFilesystem(this.dir).then(() => {
      trace(`early flush ${n}: done`);
      this.#running = false;
      if (!this.#lastWanted) return;
      this.#lastWanted = false;
      this.last();
    });
  }
}
