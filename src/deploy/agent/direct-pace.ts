/**
 * Whether this agent's disk takes direct writes fast enough for them to pay (aligned-writes.ts).
 * Direct I/O was chosen on a VM whose disk took 1 MiB direct writes at ~1-1.3 GB/s (a 200 MB file
 * in 150-200 ms) while its page cache's fresh pages cost 450-650 ms of CPU per 200 MB. On a
 * machine whose disk takes them at 150-400 MB/s (`dd oflag=direct bs=1M`, 7 December 2026) the
 * same writes, and the direct reads of a base so written (in no cache), became the edit's whole
 * wall: the 200 MB file's 1% edit 2.5 s against 0.95 s written through the page cache and synced
 * (A/B, 4 pairs: 0.38; 10% 0.30, 4 KB shift 0.24, first deploy 1.02).
 *
 * So the pace is measured as direct writes go: bytes over the time at least one was in flight
 * (a wait for the network's chunks between writes is not counted), per file. A file of
 * MIN_BYTES or more written slower than SLOW_BYTES_PER_MS turns direct writes off for PAUSE_MS;
 * the next large file after that measures again (a disk busy for a moment is not held against it
 * for long).
 */

/** From this many bytes written direct, a file's pace says something (a few blocks say little). */
const MIN_BYTES = 32 * 1024 * 1024;
/**
 * Under this pace (~250 MB/s), direct writes cost more than the page cache they avoid: the fast
 * disk's copy of a 200 MB base went at 400-500 MB/s with its main thread busy (three lanes), ~800
 * idle; the slow disk's at ~85 MB/s (a 200 MB copy in 2.4 s, its reads direct from the disk too).
 */
const SLOW_BYTES_PER_MS = 250 * 1024;
/** How long direct writes stay off after a slow file. */
const PAUSE_MS = 10 * 60 * 1000;

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

/** Until when (on the clock given) direct writes are off; 0: on. */
let offUntil = 0;

/** Whether direct writes are used now (none measured slow in the last PAUSE_MS). */
export function directWritesPay(now = performance.now()): boolean {
  return now >= offUntil;
}

/** A file's direct writes are done: a slow pace turns them off for a while. Whether it was slow. */
export function noteDirectPace(p: DirectPace, now = performance.now()): boolean {
  const pace = p.pace();
  if (pace === undefined || pace >= SLOW_BYTES_PER_MS) return false;
  offUntil = now + PAUSE_MS;
  return true;
}

/** Direct writes on again (tests). */
export function resetDirectPace(): void {
  offUntil = 0;
}
