/**
 * Chunks received recently, kept in memory (verified already) for the assembly that follows and
 * for a relay's neighbours, who ask for what it just received (chunk-index.ts): served from
 * memory, where reading one back from a staging file would hash it again. Within a small budget.
 */
import type { ChunkId } from '../types.js';

// Small: reading a chunk back from the pool is cheap (page cache, not hashed again).
const BUDGET = 8 * 1024 * 1024;

/**
 * Small chunks are copied one after the other into slabs of this size: a buffer of its own per
 * chunk (an allocation and an ArrayBuffer each, some 3,000 for a first deploy's 8 MB of small
 * files) cost more than the copy. A slab counts against the budget whole while any chunk in it is
 * kept, so what the budget allows is what memory holds.
 */
const SLAB = 1024 * 1024;

/** Larger chunks get a buffer of their own (a slab would hold too few of them). */
const OWN_FROM = SLAB / 4;

export class RecentChunks {
  readonly #chunks = new Map<ChunkId, Buffer>();
  /** Bytes counted against the budget: each live slab whole, chunks of their own by their size. */
  #bytes = 0;
  /** The slab being filled, and how much of it is. */
  #slab: Buffer | undefined;
  #used = 0;
  /** Chunks kept per slab (by its memory); a slab with none, not being filled, is uncounted. */
  readonly #live = new Map<ArrayBufferLike, number>();

  get(id: ChunkId): Buffer | undefined {
    return this.#chunks.get(id);
  }

  has(id: ChunkId): boolean {
    return this.#chunks.has(id);
  }

  /** Keeps a just-received chunk in memory for a neighbour or the assembly (within budget). */
  remember(id: ChunkId, data: Buffer): void {
    if (this.#chunks.has(id)) return;
    // Always a copy: a received chunk is lent (its buffer is reused once stored, chunk-client.ts)
    // or a view of a much larger buffer (a network read); copies stop at the budget (8 MB).
    if (data.length >= OWN_FROM) {
      if (this.#bytes + data.length > BUDGET) return;
      const copy = Buffer.allocUnsafeSlow(data.length);
      data.copy(copy);
      this.#chunks.set(id, copy);
      this.#bytes += data.length;
      return;
    }
    if (!this.#slab || this.#used + data.length > SLAB) {
      if (this.#bytes + SLAB > BUDGET) return;
      this.#retire();
      this.#slab = Buffer.allocUnsafeSlow(SLAB);
      this.#used = 0;
      this.#live.set(this.#slab.buffer, 0);
      this.#bytes += SLAB;
    }
    const copy = this.#slab.subarray(this.#used, this.#used + data.length);
    data.copy(copy);
    this.#used += data.length;
    this.#live.set(this.#slab.buffer, (this.#live.get(this.#slab.buffer) ?? 0) + 1);
    this.#chunks.set(id, copy);
  }

  /** Forgets a chunk (a release now holds it). */
  drop(id: ChunkId): void {
    const r = this.#chunks.get(id);
    if (!r) return;
    this.#chunks.delete(id);
    const live = this.#live.get(r.buffer);
    if (live === undefined) {
      this.#bytes -= r.length;
      return;
    }
    this.#live.set(r.buffer, live - 1);
    if (live === 1 && r.buffer !== this.#slab?.buffer) this.#forget(r.buffer);
  }

  /** The slab being filled is full: uncounted at once when nothing in it is kept. */
  #retire(): void {
    const slab = this.#slab;
    this.#slab = undefined;
    if (slab && this.#live.get(slab.buffer) === 0) this.#forget(slab.buffer);
  }

  #forget(slab: ArrayBufferLike): void {
    this.#live.delete(slab);
    this.#bytes -= SLAB;
  }
}
