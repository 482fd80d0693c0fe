/**
 * Flushes of the filesystem while a large staging's chunks still arrive: the bytes written so far
 * go to disk beside the transfer, and the assembly's durable step (assembly.ts), which still
 * flushes or syncs everything, finds little left to write. A first deploy of 20,000 small files
 * spent 0.2-0.4 s waiting on that final flush with nothing else to do. Nothing relies on these
 * flushes: a failed one is ignored.
 */
import { execFile } from 'node:child_process';

/** Below this many bytes to fetch, the final flush is short anyway: none is started early. */
const MIN_BYTES = 16 * 1024 * 1024;

export class EarlyFlush {
  #since = 0;
  #started = 0;
  #running = false;

  private constructor(
    readonly dir: string,
    /** Bytes written between two flushes. */
    readonly step: number,
    readonly max: number,
  ) {}

  /**
   * For a staging in `dir` about to fetch `bytes` of a release of `total`: one flush once half of
   * them have been written. Not more: each starts a process, and a fork of the agent holding
   * thousands of descriptors (prepared-tree.ts) cost its main thread 6-30 ms. Undefined for small
   * transfers, and for edits (most of the release already here): their large files written from
   * an earlier version are flushed as they are written (file-writes.ts, writeFromBaseFile).
   */
  static forTransfer(dir: string, bytes: number, total: number): EarlyFlush | undefined {
    return bytes >= MIN_BYTES && bytes * 2 > total ? new EarlyFlush(dir, bytes / 2, 1) : undefined;
  }

  /** `bytes` more were written under `dir`. */
  wrote(bytes: number): void {
    this.#since += bytes;
    if (this.#running || this.#since < this.step || this.#started >= this.max) return;
    this.#since = 0;
    this.#started++;
    this.#running = true;
    // syncfs(2) through coreutils (as durability.ts's syncFilesystem), in a process of its own.
    execFile('sync', ['-f', this.dir], () => {
      this.#running = false;
    });
  }
}
