/**
 * Where each chunk of an artifact lies in its folder, for the origin. Built at the first lookup,
 * not with the manifest: an unchanged redeploy (every host stages a twin) asks for no chunk, and
 * the map of 20,000 files' chunks, an object and a path per chunk, was ~15-35 ms of the walk's
 * CPU and its garbage. The count of distinct chunks, which the deploy reports at once, is taken
 * with a set of ids alone, or not at all for a list whose count is known (the chunk ledger's).
 */
import type { ManifestEntry } from './manifest.js';
import type { ChunkId } from './types.js';

/** Where a chunk's bytes are in the artifact folder. */
export interface ChunkSource {
  file: string;
  offset: number;
  size: number;
}

/** What the origin needs: a chunk's place, or undefined for a chunk the artifact lacks. */
export interface ChunkLookup {
  get(id: ChunkId): ChunkSource | undefined;
  /**
   * A chunk's `size` bytes when held in memory (recent-bytes.ts), as a view valid only until
   * the walk reads on (used at once, never kept); else they are read from `get`'s place.
   */
  held?(id: ChunkId, size: number): Buffer | undefined;
}

/** Distinct chunks of entry lists counted already, or read with them (the chunk ledger's). */
const counts = new WeakMap<readonly ManifestEntry[], number>();

/** Notes that `entries` hold `n` distinct chunks (counted when they were saved, checksummed since). */
export function knownChunkCount(entries: readonly ManifestEntry[], n: number): void {
  counts.set(entries, n);
}

/** Distinct chunks of `entries`, counted once per list. */
export function chunkCount(entries: readonly ManifestEntry[]): number {
  let n = counts.get(entries);
  if (n === undefined) {
    const ids = new Set<ChunkId>();
    for (const e of entries) if (e.type === 'file') for (const c of e.chunks) ids.add(c[0]);
    n = ids.size;
    counts.set(entries, n);
  }
  return n;
}

export class ChunkIndex implements ChunkLookup {
  #map: Map<ChunkId, ChunkSource> | undefined;

  /** `prefix`: the artifact folder with a trailing separator; the entries' paths follow it. */
  constructor(
    readonly prefix: string,
    readonly entries: readonly ManifestEntry[],
  ) {}

  /** Distinct chunks. */
  get size(): number {
    return this.#map?.size ?? chunkCount(this.entries);
  }

  get(id: ChunkId): ChunkSource | undefined {
    return this.#built().get(id);
  }

  keys(): IterableIterator<ChunkId> {
    return this.#built().keys();
  }

  values(): IterableIterator<ChunkSource> {
    return this.#built().values();
  }

  [Symbol.iterator](): IterableIterator<[ChunkId, ChunkSource]> {
    return this.#built()[Symbol.iterator]();
  }

  /** The first file holding a chunk, at its first place there. */
  #built(): Map<ChunkId, ChunkSource> {
    if (this.#map) return this.#map;
    const map = new Map<ChunkId, ChunkSource>();
    for (const e of this.entries) {
      if (e.type !== 'file') continue;
      const file = this.prefix + e.path;
      let offset = 0;
      for (const [id, n] of e.chunks) {
        if (!map.has(id)) map.set(id, { file, offset, size: n });
        offset += n;
      }
    }
    this.#map = map;
    return map;
  }
}
