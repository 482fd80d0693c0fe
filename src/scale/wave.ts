/**
 * How the jobs made ready together (a wave) reach Redis. Sorted by priority and written in chunks
 * (one `addBulk`, one MULTI, each): when none of the run's jobs is waiting for a worker, only the
 * first chunk goes at once and the rest is held back until a worker has taken every job of that
 * chunk (the fleet has room for more) or `restDelayMs` passed (it has not: the rest would only
 * wait in Redis). The fleet's idle workers then wake to the best-ranked jobs while the coordinator
 * is quiet, instead of sharing the CPU with it building and writing the rest of the wave (on a
 * machine with few cores, ~140 µs of CPU per job beside every waking worker). Nothing a worker
 * could take is held back behind a worse job: the held jobs rank below all of the run's jobs in
 * Redis, and a wave that comes while a rest is held is written whole, with that rest.
 */

export interface WaveJob {
  jobId: string;
  /** BullMQ's priority: 1 is the highest. */
  priority: number;
}

export interface WaveOptions<J extends WaveJob> {
  /** Writes jobs to the queue in this order (one `addBulk`); resolves once Redis has them. */
  add(jobs: J[]): Promise<void>;
  /** Jobs per `addBulk`; the first chunk's size too. */
  chunk: number;
  /** How long the rest of a wave waits at most for the first chunk to be taken. */
  restDelayMs: number;
}

interface Entry<J> {
  job: J;
  done(e?: unknown): void;
}

interface Held<J> {
  entries: Entry<J>[];
  /** Jobs of the first chunk no worker has taken yet. */
  pending: Set<string>;
  /** Stops the timer that ends the hold. */
  cancel(): void;
}

export class WaveSender<J extends WaveJob> {
  readonly #o: WaveOptions<J>;
  /** Jobs queued in this turn of the event loop, written together. */
  #batch: Entry<J>[] = [];
  /** Jobs written to Redis that no worker has taken yet, as far as `taken` was told. */
  readonly #waiting = new Set<string>();
  #held: Held<J> | undefined;

  constructor(o: WaveOptions<J>) {
    this.#o = o;
  }

  /** Queues a job with the others made ready in this turn; resolves once it is in Redis. */
  enqueue(job: J): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.#batch.length) setImmediate(() => this.#flush());
      this.#batch.push({ job, done: (e) => (e === undefined ? resolve() : reject(e)) });
    });
  }

  /** A worker took the job (or it ended, or was withdrawn): it waits in Redis no more. */
  taken(jobId: string): void {
    this.#waiting.delete(jobId);
    const held = this.#held;
    if (held?.pending.delete(jobId) && !held.pending.size) this.#release();
  }

  /**
   * A job taken before is back in Redis, waiting (a worker gave it back, or it stalled): held jobs
   * could rank above it, so the rest goes now and the next wave is written whole until it is taken.
   */
  requeued(jobId: string): void {
    this.#waiting.add(jobId);
    this.#release();
  }

  /** Whether a rest is held back now (for tests). */
  get holding(): boolean {
    return this.#held !== undefined;
  }

  #flush(): void {
    const held = this.#release(false);
    const all = [...held, ...this.#batch].sort((a, b) => a.job.priority - b.job.priority);
    this.#batch = [];
    // Jobs of the run still wait for a worker: whatever is held back now could rank above them.
    if (this.#waiting.size || held.length) {
      this.#write(all);
      return;
    }
    const first = all.slice(0, this.#o.chunk);
    const rest = all.slice(this.#o.chunk);
    if (rest.length) {
      const release = () => this.#release();
      let cancel: () => void;
      if (this.#o.restDelayMs > 0) {
        const t = setTimeout(release, this.#o.restDelayMs);
        cancel = () => clearTimeout(t);
      } else {
        const t = setImmediate(release);
        cancel = () => clearImmediate(t);
      }
      this.#held = { entries: rest, pending: new Set(first.map((e) => e.job.jobId)), cancel };
    }
    this.#write(first);
  }

  /** Ends the hold: writes the held rest (or, `write` false, returns it to be written). */
  #release(write = true): Entry<J>[] {
    const held = this.#held;
    if (!held) return [];
    this.#held = undefined;
    held.cancel();
    if (write) this.#write(held.entries);
    return held.entries;
  }

  /** Chunks sent back to back on one connection: Redis runs the best-ranked one first. */
  #write(entries: Entry<J>[]): void {
    for (let i = 0; i < entries.length; i += this.#o.chunk) {
      const chunk = entries.slice(i, i + this.#o.chunk);
      for (const e of chunk) this.#waiting.add(e.job.jobId);
      this.#o.add(chunk.map((e) => e.job)).then(
        () => {
          for (const e of chunk) e.done();
        },
        (err: unknown) => {
          for (const e of chunk) {
            this.taken(e.job.jobId);
            e.done(err);
          }
        },
      );
    }
  }
}
