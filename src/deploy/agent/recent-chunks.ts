/**
 * Chunks received recently, kept in memory (verified already) for the assembly that follows and
 * for a relay's neighbours, who ask for what it just received (chunk-index.ts): served from
 * memory, where reading one back from a staging file would hash it again. Within a small budget.
 */
import type { ChunkId } from '../types.js';

// Small: reading a chunk back from the pool is cheap (page cache, not hashed again).
const BUDGET = 8 * 1024 * 1024;

export class RecentChunks {
  readonly #chunks = new Map<ChunkId, Buffer>();
  #bytes = 0;

  get(id: ChunkId): Buffer | undefined {
    return this.#chunks.get(id);
  }

  has(id: ChunkId): boolean {
    return this.#chunks.has(id);
  }

  /** Keeps a just-received chunk in memory for a neighbour or the assembly (within budget). */
  remember(id: ChunkId, data: Buffer): void {
    if (this.#chunks.has(id) || this.#bytes + data.length > BUDGET) return;
    // Always a copy: a received chunk is lent (its buffer is reused once stored, chunk-client.ts)
    // or a view of a much larger buffer (a network read); copies stop at the budget (8 MB).
    this.#chunks.set(id, ownCopy(data));
    this.#bytes += data.length;
  }

  /** Forgets a chunk (a release now holds it). */
  drop(id: ChunkId): void {
    const r = this.#chunks.get(id);
    if (r) {
      this.#chunks.delete(id);
      this.#bytes -= r.length;
    }
  }
}

function ownCopy(data: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(data.length);
  data.copy(copy);
  return copy;
}
