/**
 * The chunks one transfer of the chunk index is fetching, for other callers that need them too
 * (a relay's neighbours, a second stage of the same release): each waits on its chunk's arrival.
 * A promise is made only for a chunk somebody waits on: one per chunk up front, with its
 * resolvers, was 20,000 of each kept alive through a first deploy's transfer (and promoted, and
 * marked, by the collector) for waits that almost never come.
 */
import type { ChunkId } from '../types.js';

interface Waiter {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class InFlight {
  readonly #waiters = new Map<ChunkId, Waiter>();

  /** Resolves once `id` (one of this transfer's, not arrived yet) has; rejects if it never will. */
  wait(id: ChunkId): Promise<void> {
    let w = this.#waiters.get(id);
    if (!w) {
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => {}); // observed by the waiter, later perhaps
      w = { promise, resolve, reject };
      this.#waiters.set(id, w);
    }
    return w.promise;
  }

  /** `id` is stored. */
  arrived(id: ChunkId): void {
    // Nearly always nobody waits: no lookup per chunk then.
    if (this.#waiters.size === 0) return;
    const w = this.#waiters.get(id);
    if (!w) return;
    this.#waiters.delete(id);
    w.resolve();
  }

  /** `id` will not come from this transfer. */
  failed(id: ChunkId, e: Error): void {
    const w = this.#waiters.get(id);
    if (!w) return;
    this.#waiters.delete(id);
    w.reject(e);
  }
}
