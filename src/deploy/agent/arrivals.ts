/**
 * The chunks a staging is still fetching, for work that uses them as they land (a changed file
 * written from its earlier version during the transfer, agent.ts): `wait(id)` resolves once `id`
 * has arrived, at once for a chunk not being fetched, and when the transfer ended without it
 * (another transfer brought it); it rejects when the transfer failed before it came.
 */
import type { ChunkId } from '../types.js';

interface Waiter {
  promise: Promise<ChunkId>;
  resolve: (id: ChunkId) => void;
  reject: (e: Error) => void;
}

export class Arrivals {
  readonly #pending: Set<ChunkId>;
  readonly #waiters = new Map<ChunkId, Waiter>();
  #failure: string | undefined;

  constructor(fetching: Iterable<ChunkId>) {
    this.#pending = new Set(fetching);
  }

  /** Resolves with `id` once it is here (or no longer awaited); rejects if the transfer failed first. */
  wait(id: ChunkId): Promise<ChunkId> {
    if (this.#failure !== undefined && this.#pending.has(id)) return Promise.reject(new Error(this.#failure));
    if (!this.#pending.has(id)) return Promise.resolve(id);
    let w = this.#waiters.get(id);
    if (!w) {
      let resolve!: (id: ChunkId) => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<ChunkId>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      w = { promise, resolve, reject };
      this.#waiters.set(id, w);
    }
    return w.promise;
  }

  /** `id` has arrived (verified and stored). */
  arrived(id: ChunkId): void {
    this.#pending.delete(id);
    const w = this.#waiters.get(id);
    if (!w) return;
    this.#waiters.delete(id);
    w.resolve(id);
  }

  /** The transfer is over: with a failure, whatever has not arrived never will. */
  end(failure?: string): void {
    if (failure === undefined) this.#pending.clear();
    else this.#failure = failure;
    for (const [id, w] of this.#waiters) {
      if (failure === undefined) w.resolve(id);
      else w.reject(new Error(failure));
    }
    this.#waiters.clear();
  }
}
