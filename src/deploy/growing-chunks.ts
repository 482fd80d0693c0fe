/**
 * Where each chunk lies in the artifact folder, known file by file as the walk chunks them: what
 * the origin looks chunks up in during a streamed stage (stage-stream.ts), started before the
 * walk ends. An agent asks only for chunks of entries it was sent, and entries are sent once
 * added here, so a lookup never misses a chunk that the finished walk would have.
 */
import type { ChunkLookup, ChunkSource } from './chunk-index.js';
import type { ManifestEntry } from './manifest.js';
import type { RecentBytes } from './recent-bytes.js';
import type { ChunkId } from './types.js';

export class GrowingChunks implements ChunkLookup {
  /**
   * Each chunk's first place: the index of the entry whose whole file it is (a small file's one
   * chunk, most of a first release's), else the place itself. An index costs the walk's thread
   * nothing to keep, where an object and a path per file (20,000 of them) survived its collections;
   * the place is made when the origin asks.
   */
  readonly #map = new Map<ChunkId, ChunkSource | number>();
  /** Entries added so far (a prefix of the walk's list). */
  #added = 0;
  /** The walk's list, as last added from. */
  #entries: readonly ManifestEntry[] = [];

  /**
   * `prefix`: the artifact folder with a trailing separator; the entries' paths follow it.
   * `recent`: the bytes the walk kept of the files it read last.
   */
  constructor(
    readonly prefix: string,
    readonly recent?: RecentBytes,
  ) {}

  /** Adds the chunks of entries[added .. ready), the walk's final ones (artifact.ts onChunked). */
  add(entries: readonly ManifestEntry[], ready: number): void {
    this.#entries = entries;
    for (; this.#added < ready; this.#added++) {
      const e = entries[this.#added]!;
      if (e.type !== 'file') continue;
      if (e.chunks.length === 1) {
        const id = e.chunks[0]![0];
        if (!this.#map.has(id)) this.#map.set(id, this.#added);
        continue;
      }
      const file = this.prefix + e.path;
      let offset = 0;
      for (const [id, n] of e.chunks) {
        // The first place of a chunk, as ChunkIndex keeps it.
        if (!this.#map.has(id)) this.#map.set(id, { file, offset, size: n });
        offset += n;
      }
    }
  }

  /** The file being chunked (its chunks so far sent in parts): its path, chunks added, bytes. */
  #part = { path: '', count: 0, offset: 0 };

  /**
   * Adds the chunks of file `path` (the entry after those added) that came since its last part:
   * an agent streamed its parts asks for them before the file's entry is final.
   */
  addPart(path: string, chunks: readonly [ChunkId, number][]): void {
    if (this.#part.path !== path) this.#part = { path, count: 0, offset: 0 };
    const file = this.prefix + path;
    for (let k = this.#part.count; k < chunks.length; k++) {
      const [id, n] = chunks[k]!;
      if (!this.#map.has(id)) this.#map.set(id, { file, offset: this.#part.offset, size: n });
      this.#part.offset += n;
    }
    this.#part.count = chunks.length;
  }

  get(id: ChunkId): ChunkSource | undefined {
    const at = this.#map.get(id);
    if (typeof at !== 'number') return at;
    const e = this.#entries[at] as Extract<ManifestEntry, { type: 'file' }>;
    return { file: this.prefix + e.path, offset: 0, size: e.chunks[0]![1] };
  }

  held(id: ChunkId, size: number): Buffer | undefined {
    const at = this.#map.get(id);
    return typeof at === 'number' ? this.recent?.view(at, size) : undefined;
  }
}
