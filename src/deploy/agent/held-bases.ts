/**
 * The bases of a fetch's chunk deltas between the request and the deltas' arrival (chunk-index.ts
 * ensure). A base read from a release or staging file is not kept: read again, into one buffer,
 * when its delta arrives (the page cache has it). Every batch's bases were held in memory until
 * its chunks came, four batches in flight: on the 200 MB file's 10% edit ~16 MB of the agent's
 * peak, which glibc's heap then kept for the deploys after. A base that changed meanwhile (the
 * app wrote its file) rebuilds a chunk that fails its SHA-256: the delta is refused and the chunk
 * asked for whole, as for any delta that does not rebuild. Bases not in a file (pool chunks,
 * chunks in memory) are held as before.
 */
import type { ChunkId } from '../types.js';
import type { BaseFiles } from './base-files.js';
import { type BaseSource, baseAgain } from './base-reads.js';
import type { BaseRange } from './base-trim.js';

/**
 * Smaller bases are held: reading them again saves little and keeps their files open for the
 * whole transfer (a batch of small files' bases: one descriptor each).
 */
const READ_AGAIN = 32 * 1024;

export class HeldBases {
  readonly #held = new Map<ChunkId, Buffer>();
  readonly #again = new Map<ChunkId, { ids: ChunkId[]; range?: BaseRange; size: number }>();
  /** Where bases are read again; a decoder uses a base only while it decodes (synchronously). */
  #scratch = Buffer.alloc(0);
  /** The chunk whose base the scratch holds (a refused delta asks for it twice). */
  #last: ChunkId | undefined;

  constructor(
    readonly src: BaseSource,
    /** Open until the fetch is over (closed by the caller). */
    readonly files: BaseFiles,
  ) {}

  /** Notes `data`, the base of `id` read by baseOf from `ids` (and `range` of them). */
  hold(id: ChunkId, ids: ChunkId[], range: BaseRange | undefined, data: Buffer): void {
    const inFiles =
      data.length >= READ_AGAIN &&
      ids.every((x) => {
        const w = this.src.where.get(x);
        return w !== undefined && w.kind !== 'pool' && !this.src.recent.has(x);
      });
    if (inFiles) this.#again.set(id, { ids, range, size: data.length });
    else this.#held.set(id, data);
  }

  /** Whether a base is to be read again: the files must then stay open until the deltas came. */
  get readsAgain(): boolean {
    return this.#again.size > 0;
  }

  /** The base of `id`, valid until the next call; undefined when it cannot be had again. */
  get(id: ChunkId): Buffer | undefined {
    const held = this.#held.get(id);
    if (held) return held;
    const a = this.#again.get(id);
    if (!a) return undefined;
    if (this.#scratch.length < a.size) this.#scratch = Buffer.allocUnsafeSlow(a.size);
    const into = this.#scratch.subarray(0, a.size);
    if (this.#last === id) return into;
    this.#last = undefined;
    const got = baseAgain(this.src, a.ids, this.files, into, a.range);
    if (got) this.#last = id;
    return got;
  }

  /** Its delta decoded: the base is not needed again. */
  drop(id: ChunkId): void {
    this.#held.delete(id);
    this.#again.delete(id);
    if (this.#last === id) this.#last = undefined;
  }
}
