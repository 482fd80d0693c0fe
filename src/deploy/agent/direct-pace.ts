/**
 * Whether this agent's disk takes direct writes fast enough for them to pay (aligned-writes.ts).
 * Direct I/O was chosen on a VM whose disk took 1 MiB direct writes at ~1-1.3 GB/s (a 200 MB file
 * in 150-200 ms) while its page cache's fresh pages cost 450-650 ms of CPU per 200 MB. On a
 * machine whose disk takes them at 150-400 MB/s (`dd oflag=direct bs=1M`, 7 December 2026) the
 * same writes, and the direct reads of a base so written (in no cache), became the edit's whole
 * wall: the 200 MB file's 1% edit 2.5 s against 0.95 s written through the page cache and synced
 * (A/B, 4 pairs: 0.38; 10% 0.30, 4 KB shift 0.24, first deploy 1.02).
 *
 * So the disk's pace is measured as writes reach it, and direct writes are used only while the
 * last measure (or none yet) says it takes them fast: a large file's direct writes, bytes over
 * the time at least one was in flight (a wait for the network's chunks between writes is not
 * counted), and a streamed file's syncs as it is written (stream-files.ts: 32 MiB by fdatasync,
 * whose pace is higher than direct writes' on the same disk: a threshold of their own),
 * so that a first deploy already tells the edits after it. Once off, direct writes come back
 * when a streamed file's syncs find the disk fast again.
 */
import { trace } from '../../util/trace.js';

/** From this many bytes written, a pace says something (a few blocks say little). */
const MIN_BYTES = 32 * 1024 * 1024;
/**
 * Under this pace (~250 MB/s), direct writes cost more than the page cache they avoid: the fast
 * disk's copy of a 200 MB base went at 400-500 MB/s with its main thread busy (three lanes), ~800
 * idle; the slow disk's at ~85 MB/s (a 200 MB copy in 2.4 s, its reads direct from the disk too).
 */
const SLOW_BYTES_PER_MS = 250 * 1024;
/**
 * Under this pace (~600 MB/s), 32 MiB synced after buffered writes says the disk is slow: the fast
 * disk's final sync took the last ~200 MB of a 200 MB file in 68-105 ms (2-3 GB/s); the slow
 * disk's syncs of 32 MiB went at 250-430 MB/s, while direct writes there went at 66-125.
 */
const SLOW_SYNC_BYTES_PER_MS = 600 * 1024;

/** One file's direct writes: started and finished one by one, possibly several at once. */
export class DirectPace {
  #inFlight = 0;
  #since = 0;
  #busyMs = 0;
  #bytes = 0;

  constructor(readonly now: () => number = () => performance.now()) {}

  started(): void {
    if (this.#inFlight++ === 0) this.#since = this.now();
  }

  finished(bytes: number): void {
    this.#bytes += bytes;
    if (--this.#inFlight === 0) this.#busyMs += this.now() - this.#since;
  }

  /** Bytes per ms while writes were in flight, or undefined when too few were written to tell. */
  pace(): number | undefined {
    if (this.#bytes < MIN_BYTES || this.#busyMs <= 0) return undefined;
    return this.#bytes / this.#busyMs;
  }
}

/** Whether the disk was last measured slow (undefined: not measured yet). */
let slow: boolean | undefined;

/** Whether direct writes are used now: no pace measured yet, or the last one fast. */
export function directWritesPay(): boolean {
  return slow !== true;
}

/**
 * `bytes` written through the page cache reached the disk in `ms` (a streamed file's fdatasync):
 * from MIN_BYTES on, the disk's pace for writes in bulk, under SLOW_SYNC_BYTES_PER_MS slow.
 */
export function noteSyncPace(bytes: number, ms: number): void {
  if (bytes < MIN_BYTES || ms <= 0) return;
  const pace = bytes / ms;
  slow = pace < SLOW_SYNC_BYTES_PER_MS;
  trace(`disk pace: ${Math.round(pace / 1024)} MB/s (${Math.round(bytes / 1048576)} MiB synced)`);
}

/** A file's direct writes are done: their pace is the disk's. Whether it was slow. */
export function noteDirectPace(p: DirectPace): boolean {
  const pace = p.pace();
  if (pace === undefined) return false;
  slow = pace < SLOW_BYTES_PER_MS;
  return slow;
}

/** No pace known (tests). */
export function resetDirectPace(): void {
  slow = undefined;
}
