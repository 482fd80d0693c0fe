/**
 * The files of a streamed stage (stream-stage.ts) in its folder `staging/.stream-<random>`, made
 * as their entries come: folders at once, each file opened when its first chunk arrives and
 * written at its chunks' offsets, then given its manifest mode, its mtime noted and closed once
 * every chunk is in (as staging-files.ts settles a file), so the assembly has nothing left to do
 * for it. Entries come checked (manifest-lines.ts ManifestLines): safe paths below folders made here.
 * Nothing is created through a symlink (O_NOFOLLOW, O_EXCL; symlinks are made at assembly).
 */
import { closeSync, constants, fchmodSync, fdatasync, mkdirSync, openSync, write, writeSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fstatNumbers } from '../../util/lstat-numbers.js';
import type { ManifestEntry } from '../manifest.js';
import type { ChunkId, ReleaseId } from '../types.js';
import { DIRECT_STREAM_MIN, DirectBlocks } from './direct-blocks.js';
import { noteSyncPace } from './direct-pace.js';
import type { StagedLoc } from './staging-area.js';
import { WaitingPlaces } from './waiting-places.js';
import { writeWhole } from './whole-file.js';

type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** Writes up to this size are made on the calling thread (as staging-files.ts makes them). */
const SYNC_BYTES = 64 * 1024;
const writeFd = promisify(write);
const fdatasyncFd = promisify(fdatasync);

/**
 * A file being written is synced (fdatasync, on the thread pool) each time this many bytes more
 * have been written to it, while the transfer goes on: the kernel here starts no writeback of its
 * own for seconds (dirty_background_ratio of a large memory), so a 200 MB file waited whole in
 * the page cache for the assembly's final fsync (assembly.ts). Synced as it goes, the final one
 * finds the last step's bytes or fewer. Nothing relies on these syncs: a failed one is ignored.
 */
const SYNC_STEP = 32 * 1024 * 1024;

/** Writes all of `data` at `offset` through the thread pool. */
async function writeAll(fd: number, data: Buffer, offset: number): Promise<void> {
  for (let n = 0; n < data.length; )
    n += (await writeFd(fd, data, n, data.length - n, offset + n)).bytesWritten;
}

export class StreamFiles {
  readonly files: FileEntry[] = [];
  /** Per file: its mtime once complete (its mode given, closed), NaN until then. */
  readonly mtimes: number[] = [];
  /** Per file: chunk places still to write. */
  readonly #left: number[] = [];
  /** Per file: its descriptor while being written. */
  readonly #fds = new Map<number, number>();
  /** Chunk -> the first place waiting for it (a number in #places; more chained through its `next`). */
  readonly #waiting = new Map<ChunkId, number>();
  /** The places waiting, in flat typed arrays: no array per chunk kept alive while it is fetched. */
  readonly #places = new WaitingPlaces();
  /** Per descriptor: bytes written since its last early sync (SYNC_STEP). */
  readonly #unsynced = new Map<number, number>();
  /** Per descriptor: its early sync while it runs (the descriptor is closed after it). */
  readonly #syncing = new Map<number, Promise<void>>();
  /** Per file: its direct writer (direct-blocks.ts), for a large file while direct writes pay. */
  readonly #direct = new Map<number, DirectBlocks>();
  /** Large files whose last bytes were put, until their direct writes are done and they are settled. */
  readonly #finishing = new Set<Promise<void>>();
  /** Early syncs started (for tests). */
  syncs = 0;
  /**
   * Files settled so far that no early sync of their own covered (those below `syncStep`): what
   * a flush of the filesystem has to write (stream-stage.ts, early-flush.ts).
   */
  unsyncedFiles = 0;

  /** `name`: the folder's name under staging, what chunk locations name it by (StagedLoc). */
  constructor(
    readonly dir: string,
    readonly name: string,
    /** Bytes written to a file between two of its early syncs. */
    readonly syncStep = SYNC_STEP,
  ) {}

  /** Creates a folder entry's folder (its mode is given at assembly, as for any staging). */
  folder(e: Extract<ManifestEntry, { type: 'dir' }>): void {
    mkdirSync(this.#pathOf(e.path), { mode: 0o755 });
  }

  /**
   * Takes a file entry: its places wait for their chunks. Returns its chunks nobody waited for
   * before (each once), for the caller to fetch or copy from what the agent has; an empty file
   * is created at once.
   */
  file(e: FileEntry): [ChunkId, number][] {
    const f = this.files.length;
    this.files.push(e);
    this.mtimes.push(Number.NaN);
    this.#left.push(e.chunks.length);
    if (e.chunks.length === 0) {
      this.#settle(f, this.#open(f));
      return [];
    }
    return this.#await(f, 0, e.chunks);
  }

  /**
   * Opens a file whose chunk list comes in parts (ManifestLines part) before its entry: its
   * number, for `more` and `closing`. It is held open (not settled) until its entry comes.
   */
  opening(path: string, mode: number): number {
    const f = this.files.length;
    this.files.push({ type: 'file', path, mode, size: 0, chunks: [] });
    this.mtimes.push(Number.NaN);
    this.#left.push(1); // the hold, released by closing
    return f;
  }

  /** A part of file f: its places from `offset` wait for their chunks. Returns the fresh ones, as `file`. */
  more(f: number, offset: number, chunks: readonly [ChunkId, number][]): [ChunkId, number][] {
    this.#left[f]! += chunks.length;
    return this.#await(f, offset, chunks);
  }

  /**
   * File f's entry came (checked to list its parts' `parted` chunks first): the rest of its
   * places wait for their chunks, and once all are written it is settled, as any.
   */
  closing(f: number, e: FileEntry, parted: number, partedBytes: number): [ChunkId, number][] {
    this.files[f] = e;
    const rest = e.chunks.slice(parted);
    this.#left[f]! += rest.length;
    const fresh = this.#await(f, partedBytes, rest);
    if (--this.#left[f]! === 0) {
      const fd = this.#fds.get(f) ?? this.#open(f);
      this.#fds.delete(f);
      const done = this.#complete(f, fd);
      if (done) {
        // Its last chunks came before its entry: finished aside, awaited by `synced`.
        const held = done.catch(() => {});
        this.#finishing.add(held);
        void held.finally(() => this.#finishing.delete(held));
      }
    }
    return fresh;
  }

  /** Places of file f from `offset` wait for `chunks`; those nobody waited for before, each once. */
  #await(f: number, offset: number, chunks: readonly [ChunkId, number][]): [ChunkId, number][] {
    const fresh: [ChunkId, number][] = [];
    // Index loop: no iterator, nor a destructured pair, per chunk.
    for (let j = 0; j < chunks.length; j++) {
      const c = chunks[j]!;
      const id = c[0];
      const size = c[1];
      const at = this.#waiting.get(id);
      if (at !== undefined) this.#places.append(at, f, offset, size);
      else {
        this.#waiting.set(id, this.#places.add(f, offset, size));
        fresh.push(c);
      }
      offset += size;
    }
    return fresh;
  }

  /** Whether places still wait for `id`. */
  waits(id: ChunkId): boolean {
    return this.#waiting.has(id);
  }

  /**
   * Writes a verified chunk at every place waiting for it; returns the first, or undefined when
   * none waits (or its length is not the manifest's: not placed, then refetched or failed).
   * Synchronous while every write is small; larger ones go through the thread pool, beside the
   * decoding of the next (as staging-files.ts writes them).
   */
  place(id: ChunkId, data: Buffer): StagedLoc | undefined | Promise<StagedLoc | undefined> {
    const at = this.#waiting.get(id);
    if (at === undefined) return undefined;
    const places = this.#places;
    if (places.next[at] === -1) {
      const placed = this.#placeWhole(places.file[at]!, places.offset[at]!, places.size[at]!, data);
      if (placed) {
        this.#waiting.delete(id);
        places.free(at);
        return placed;
      }
    }
    let first: StagedLoc | undefined;
    /** The places left waiting (a chunk of another length than theirs), chained again. */
    let rest = -1;
    let last = -1;
    let later: Promise<void>[] | undefined;
    // Unlisted first: a write that throws leaves no chain of places freed behind (the stream fails).
    this.#waiting.delete(id);
    for (let g = at; g !== -1; ) {
      const f = places.file[g]!;
      const offset = places.offset[g]!;
      const size = places.size[g]!;
      const next = places.next[g]!;
      places.next[g] = -1;
      const e = this.files[f]!;
      // The manifest's length is the claim to check; a chunk of another length is not placed.
      if (size !== data.length) {
        if (last === -1) rest = g;
        else places.next[last] = g;
        last = g;
        g = next;
        continue;
      }
      places.free(g);
      g = next;
      let fd = this.#fds.get(f);
      if (fd === undefined) {
        fd = this.#open(f);
        this.#fds.set(f, fd);
        // A large file (one in parts is): its bytes go direct where they can.
        if ((e.size === 0 || e.size >= DIRECT_STREAM_MIN) && DirectBlocks.wanted())
          this.#direct.set(f, new DirectBlocks(this.#pathOf(e.path), fd));
      }
      first ??= { release: this.name as ReleaseId, path: e.path, offset, size };
      const direct = this.#direct.get(f);
      if (direct) {
        const n = fd;
        const put = direct.put(data, offset);
        later ??= [];
        later.push(put ? put.then(() => this.#wrote(f, n)) : (this.#wrote(f, n) ?? Promise.resolve()));
        continue;
      }
      if (size > SYNC_BYTES) {
        const n = fd;
        later ??= [];
        later.push(
          writeAll(n, data, offset).then(() => {
            this.#written(n, size);
            this.#wrote(f, n);
          }),
        );
        continue;
      }
      for (let n = 0; n < size; ) n += writeSync(fd, data, n, size - n, offset + n);
      this.#written(fd, size);
      this.#wrote(f, fd);
    }
    if (rest !== -1) {
      places.tail[rest] = last;
      this.#waiting.set(id, rest);
    }
    return later ? Promise.all(later).then(() => first) : first;
  }

  /**
   * The common case of a first deploy's small files: the chunk's one place is the last one its
   * file waits for, and is small. The file is created, written, settled and closed here, without
   * the bookkeeping of a file held open between chunks (its descriptor, its unsynced bytes, an
   * early sync: five map operations and a closure per file, 20,000 times); undefined when not
   * that case (then `place` takes the general path).
   */
  #placeWhole(f: number, offset: number, size: number, data: Buffer): StagedLoc | undefined {
    if (size !== data.length || size > SYNC_BYTES || this.#left[f] !== 1 || this.#fds.has(f))
      return undefined;
    const e = this.files[f]!;
    // Created, written, given its mode and closed in one call (whole-file.ts).
    const mtime = writeWhole(this.#pathOf(e.path), data, offset, e.mode);
    // Complete only once written and settled: a failed write leaves it incomplete.
    this.#left[f] = 0;
    this.mtimes[f] = mtime;
    this.unsyncedFiles++;
    return { release: this.name as ReleaseId, path: e.path, offset, size };
  }

  /** `bytes` more written to `fd`: synced early once a step's worth are (SYNC_STEP). */
  #written(fd: number, bytes: number): void {
    const n = (this.#unsynced.get(fd) ?? 0) + bytes;
    if (n < this.syncStep || this.#syncing.has(fd)) {
      this.#unsynced.set(fd, n);
      return;
    }
    this.#unsynced.set(fd, 0);
    this.syncs++;
    const began = performance.now();
    const done = fdatasyncFd(fd).then(
      () => {
        // The disk's pace, for whether a large file's writes go direct (direct-pace.ts).
        noteSyncPace(n, performance.now() - began);
        this.#syncing.delete(fd);
      },
      () => {
        this.#syncing.delete(fd);
      },
    );
    this.#syncing.set(fd, done);
  }

  /** Closes `fd`, once its early sync is over if one runs (never a descriptor in use). */
  #close(fd: number): void {
    this.#unsynced.delete(fd);
    const syncing = this.#syncing.get(fd);
    if (syncing) void syncing.then(() => closeSync(fd));
    else closeSync(fd);
  }

  /** Waits for the early syncs still running (their descriptors then closed). */
  async synced(): Promise<void> {
    while (this.#syncing.size) await Promise.all([...this.#syncing.values()]);
  }

  /** Waits for the large files whose last chunks came before their entry to finish their writes. */
  async finished(): Promise<void> {
    while (this.#finishing.size) await Promise.all([...this.#finishing]);
  }

  /**
   * One more place of file f written: once all are, the file is settled and closed (a promise
   * when its direct writes are still to finish; it rejects when one failed).
   */
  #wrote(f: number, fd: number): void | Promise<void> {
    if (--this.#left[f]! > 0) return;
    this.#fds.delete(f);
    return this.#complete(f, fd);
  }

  /** File f has every byte put: settled, after its direct writes are done if it has some. */
  #complete(f: number, fd: number): void | Promise<void> {
    const direct = this.#direct.get(f);
    if (!direct) {
      this.#settle(f, fd);
      return;
    }
    this.#direct.delete(f);
    // Incomplete until settled: a failed write leaves it so (and its place's promise rejects).
    this.#left[f] = 1;
    return direct.finish(this.files[f]!.size).then(
      () => {
        this.#left[f] = 0;
        this.#settle(f, fd);
      },
      (e: unknown) => {
        closeSync(fd);
        throw e;
      },
    );
  }

  /** The first file with a chunk still missing, if any. */
  incomplete(): FileEntry | undefined {
    const f = this.#left.findIndex((n) => n > 0);
    return f < 0 ? undefined : this.files[f];
  }

  /** Closes every file still open (the stream failed or ended). */
  close(): void {
    for (const [f, fd] of this.#fds) {
      const direct = this.#direct.get(f);
      if (direct) void direct.close().finally(() => this.#close(fd));
      else this.#close(fd);
    }
    this.#fds.clear();
    this.#direct.clear();
  }

  #pathOf(p: string): string {
    // As path.join would for a checked manifest path (staging-files.ts pathOf).
    return `${this.dir}${path.sep}${p}`;
  }

  /** Creates file f: with its mode plus the owner's read and write bits until complete. */
  #open(f: number): number {
    const e = this.files[f]!;
    return openSync(this.#pathOf(e.path), CREATE, (e.mode & 0o777) | 0o600);
  }

  /** A complete file gets its mode, its mtime noted (a mode change keeps it), and is closed. */
  #settle(f: number, fd: number): void {
    try {
      const e = this.files[f]!;
      // Its numbers only: no Stats object and four Dates per file (as staging-files.ts settles).
      const st = fstatNumbers(fd);
      if ((st.mode & 0o777) !== (e.mode & 0o777)) fchmodSync(fd, e.mode & 0o777);
      this.mtimes[f] = st.mtimeMs;
      if (e.size < this.syncStep) this.unsyncedFiles++;
    } finally {
      this.#close(fd);
    }
  }
}
