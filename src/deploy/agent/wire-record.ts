/**
 * The bytes each chunk this agent received took on the wire, and when it came, whoever asked for
 * it (a relay's own stage or a neighbour): what a stage counts as fetched since it began
 * (fetch-missing.ts countReceived). Two maps of small integers, where an object per chunk (and
 * its epoch time, a heap number) was two allocations each, 20,000 of them kept alive through a
 * first deploy's transfer until its release settled.
 */
import type { ChunkId } from '../types.js';

export class WireRecord {
  readonly #bytes = new Map<ChunkId, number>();
  /** When, in ms after #epoch: a small integer for 12 days of uptime (a heap number after). */
  readonly #at = new Map<ChunkId, number>();
  readonly #epoch = Date.now();

  /** `id` came now, in `bytes` on the wire. */
  note(id: ChunkId, bytes: number): void {
    this.#bytes.set(id, bytes);
    this.#at.set(id, Date.now() - this.#epoch);
  }

  /** Wire bytes of `id` if it came at or after `since` (epoch ms), else undefined. */
  since(id: ChunkId, since: number): number | undefined {
    const at = this.#at.get(id);
    return at !== undefined && this.#epoch + at >= since ? this.#bytes.get(id) : undefined;
  }

  /** Forgets `id` (a release holds it now). */
  drop(id: ChunkId): void {
    this.#bytes.delete(id);
    this.#at.delete(id);
  }
}
