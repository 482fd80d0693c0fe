/**
 * A changed file being written from its earlier version during the transfer (early-writes.ts)
 * takes its new chunks straight from the network once it is open: each is written at its offsets
 * as it arrives, and the chunk index points at it there (a staging location, read back verified
 * like any other). Before, every such chunk went into the pool, was read back from it and then
 * written into the file: on the 200 MB file's 10% edit 30 MB written and read once more, and the
 * pool's writes waited on the disk behind the base's copy. A chunk that comes before the file is
 * open (its base still being copied) goes to the pool as before; the writer asks the pool for it.
 */
import type { ManifestEntry } from '../manifest.js';
import type { ChunkId, ReleaseId } from '../types.js';
import type { StagedLoc } from './staging-area.js';

type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

/** What writeFromBase offers: a write into the file while it is open for patching. */
export interface DirectSink {
  /** The file is open: chunks may be written with `write` until close(). */
  open(write: (data: Buffer, at: number) => Promise<void>): void;
  /** No more writes: resolves once those under way are done (before the file is closed). */
  close(): Promise<void>;
}

export class DirectFile implements DirectSink {
  /** The chunks of the file its base lacks, and their offsets in it. */
  readonly #offsets = new Map<ChunkId, number[]>();
  readonly #sizes = new Map<ChunkId, number>();
  readonly #written = new Set<ChunkId>();
  readonly #pending = new Set<Promise<void>>();
  #write: ((data: Buffer, at: number) => Promise<void>) | undefined;

  constructor(
    readonly release: ReleaseId,
    readonly e: FileEntry,
    baseChunks: readonly [ChunkId, number][],
  ) {
    const inBase = new Set<ChunkId>();
    for (const [id] of baseChunks) inBase.add(id);
    let offset = 0;
    for (const [id, size] of e.chunks) {
      if (!inBase.has(id)) {
        const list = this.#offsets.get(id);
        if (list) list.push(offset);
        else this.#offsets.set(id, [offset]);
        this.#sizes.set(id, size);
      }
      offset += size;
    }
  }

  open(write: (data: Buffer, at: number) => Promise<void>): void {
    this.#write = write;
  }

  async close(): Promise<void> {
    this.#write = undefined;
    await Promise.allSettled([...this.#pending]);
  }

  /** Whether `id` was written into the file here (the writer then has nothing to do for it). */
  has(id: ChunkId): boolean {
    return this.#written.has(id);
  }

  /** The chunks written here, for the index to forget should the staging fail. */
  get written(): Iterable<ChunkId> {
    return this.#written;
  }

  /**
   * Writes a verified chunk at each of its offsets when the file is open and wants it; returns
   * where it now is, or undefined (for the pool). `data` is only read until this settles.
   */
  async place(id: ChunkId, data: Buffer): Promise<StagedLoc | undefined> {
    const offsets = this.#offsets.get(id);
    const write = this.#write;
    if (!offsets || !write || this.#written.has(id) || data.length !== this.#sizes.get(id)) return undefined;
    const done = Promise.all(offsets.map((at) => write(data, at))).then(() => {});
    this.#pending.add(done);
    try {
      await done;
    } finally {
      this.#pending.delete(done);
    }
    this.#written.add(id);
    return { release: this.release, path: this.e.path, offset: offsets[0]!, size: data.length };
  }
}
