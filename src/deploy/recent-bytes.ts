/**
 * The bytes of the small files the walk read last (artifact.ts), kept in one ring buffer for the
 * origin of a streamed stage (stage-stream.ts, origin.ts). An agent streamed a first release asks
 * for a file's chunk moments after the walk read it (measured on the bench's 20,000 files: its
 * fetches stayed within ~2,000 files, ~4 MB, of the walk's), and the origin read it again from
 * the folder: an open, a read and a close per file, on the thread that walks. Kept here, a chunk
 * still in the ring costs a copy instead.
 *
 * A ring, not a buffer per file: keeping every file's bytes (tried, in fresh 1 MiB slabs) cost
 * ~10,000 page faults and 24-40 MB of peak RSS, about what it saved. The ring's pages are touched
 * once and reused; a chunk the walk has lapped is read from the folder as before.
 *
 * A file's slot is found by the index of its entry in the walk's list (artifact.ts), in a typed
 * array, not by its chunk id in a map: the origin's lookup knows a one-chunk file's entry
 * (growing-chunks.ts). A map of 20,000 ids was a set per file on the walk's thread and 20,000
 * entries surviving its collections.
 */
/** The ring's size: room for ~4,000 of the bench's files (2 KB each), twice the agent's lag seen. */
const RECENT_BYTES = 16 * 1024 * 1024;

export class RecentBytes {
  #ring: Buffer | undefined;
  /**
   * Where the file of each entry kept starts, plus one (0: not kept), by the entry's index,
   * counted in bytes ever handed out (not wrapped).
   */
  #at = new Float64Array(1024);
  /** The end of the last slot handed out, likewise: bytes before `end - size` are overwritten. */
  #end = 0;
  /** Chunks served from the ring, and asked for but lapped (for traces). */
  hits = 0;
  misses = 0;
  /** The end of the furthest slot asked for (counted as `end`), and when a slot was last asked for. */
  #askedTo = 0;
  #askedAt = 0;

  constructor(readonly size = RECENT_BYTES) {}

  /**
   * A slot of `n` bytes to read a file into (valid until the next slot is asked for), or
   * undefined for one too large to be worth a place (a sixteenth of the ring or more).
   */
  slot(n: number): Buffer | undefined {
    if (n <= 0 || n * 16 > this.size) return undefined;
    this.#ring ??= Buffer.allocUnsafeSlow(this.size);
    let start = this.#end % this.size;
    // Contiguous: a slot that would wrap starts at the ring's beginning (the tail skipped).
    if (start + n > this.size) {
      this.#end += this.size - start;
      start = 0;
    }
    this.#end += n;
    this.#slotAt = this.#end - n;
    return this.#ring.subarray(start, start + n);
  }

  #slotAt = 0;

  /** The last slot holds the whole file of entry `entry` (its index in the walk's list). */
  keep(entry: number): void {
    if (entry >= this.#at.length) {
      const grown = new Float64Array(Math.max(entry + 1, this.#at.length * 2));
      grown.set(this.#at);
      this.#at = grown;
    }
    this.#at[entry] = this.#slotAt + 1;
  }

  /**
   * The first `n` bytes of entry `entry`'s file while the ring still holds them: a view, valid
   * until the next slot.
   */
  view(entry: number, n: number): Buffer | undefined {
    const at = (this.#at[entry] ?? 0) - 1;
    if (at < 0) return undefined;
    this.#askedAt = performance.now();
    if (at + n > this.#askedTo) this.#askedTo = at + n;
    if (this.#end - at > this.size) {
      this.#at[entry] = 0;
      this.misses++;
      return undefined;
    }
    this.hits++;
    const start = at % this.size;
    return this.#ring!.subarray(start, start + n);
  }

  /**
   * How far the ring's filling runs ahead of the furthest slot asked for (bytes), and whether
   * anything was asked for within `ms` milliseconds; undefined when nothing was.
   */
  lead(ms: number): number | undefined {
    if (this.#askedAt === 0 || performance.now() - this.#askedAt > ms) return undefined;
    return this.#end - this.#askedTo;
  }
}
