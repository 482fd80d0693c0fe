/**
 * A release being staged, in `staging/<id>/` with its manifest beside it (`staging/<id>.json`).
 * A chunk fetched for a file that is written from chunks (not linked from a kept release nor
 * written from an earlier version of itself) goes straight into that file at each of its offsets,
 * once, instead of into the chunk pool first and into the release later. The folder outlives a
 * failed transfer and a crash: when the agent opens, every chunk in it is read back and its
 * SHA-256 checked (a torn write, or bytes someone changed, fail and are fetched again), and the
 * next stage of that release carries on from what passed. Assembly (releases.ts) fills in the
 * chunks that came from elsewhere, makes the files durable and renames the folder into
 * `releases/`. Files are created with their mode plus the owner's write bit (most need no change
 * then) and given the manifest's mode once complete; a file found
 * hard-linked (a link an interrupted assembly made to a kept release's file) is replaced, never
 * written into.
 */
import {
  chmodSync,
  close,
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  open,
  openSync,
  readSync,
  statSync,
  truncateSync,
  unlinkSync,
  write,
  writeSync,
} from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeAtomic } from '../../state/atomic-write.js';
import { failpoint } from '../../util/failpoint.js';
import { chunkIdOf } from '../fastcdc.js';
import { type Manifest, type ManifestEntry, releaseIdOf, validateManifest } from '../manifest.js';
import { type ChunkId, isReleaseId, type ReleaseId } from '../types.js';
import type { Layout } from './layout.js';
import type { PreparedTree } from './prepared-tree.js';

type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

/** A chunk's bytes inside a staging file. */
export interface StagedLoc {
  release: ReleaseId;
  path: string;
  offset: number;
  size: number;
}

const openLater = promisify(open);
const closeFd = promisify(close);
const writeFd = promisify(write);
/** Writes up to this size are made on the calling thread (as the pool's appends were). */
const SYNC_BYTES = 64 * 1024;
/** Bytes read at once when a restart checks a staged file. */
const SCAN_BLOCK = 4 * 1024 * 1024;

export class StagingArea {
  readonly dir: string;
  readonly files: FileEntry[] = [];
  // Flat over every chunk place of every file (20,000 files: a few arrays, not 100,000 objects).
  /** Where file f's places start; file f has places first[f] .. first[f + 1] - 1. */
  readonly #first: Int32Array;
  /** Place g holds its chunk (written by this process, or checked by a scan). */
  readonly #done: Uint8Array;
  readonly #offset: Float64Array;
  readonly #fileOf: Int32Array;
  readonly #index = new Map<string, number>();
  /** Files written from chunks (plan()); the others are linked or written at assembly. */
  readonly #direct: Uint8Array;
  /** Chunk -> its places among the direct files still to write while fetching. */
  readonly #at = new Map<ChunkId, number | number[]>();
  /** Per direct file: places still to be written while fetching; its fd closes at 0. */
  readonly #left: Int32Array;
  /** Open descriptors by file: a number once known (small files are opened on this thread). */
  readonly #fds = new Map<number, number | Promise<number>>();
  /**
   * Descriptors of the prepared tree's files (prepared-tree.ts), by path: a file's first write
   * takes its own instead of opening the file; closed with the rest when the staging closes.
   */
  #adopted = new Map<string, number>();
  /**
   * Per file: its mtime once complete, taken from its descriptor before the close (its mode set
   * then too), so that assembly needs no second look at it by path; NaN while unknown.
   */
  readonly #finalMtime: Float64Array;
  #fresh: boolean;

  private constructor(
    readonly layout: Layout,
    readonly id: ReleaseId,
    readonly manifest: Manifest,
    fresh: boolean,
  ) {
    this.#fresh = fresh;
    this.dir = layout.stagingDir(id);
    let places = 0;
    for (const e of manifest.entries) {
      if (e.type !== 'file') continue;
      this.#index.set(e.path, this.files.length);
      this.files.push(e);
      places += e.chunks.length;
    }
    this.#first = new Int32Array(this.files.length + 1);
    this.#done = new Uint8Array(places);
    this.#offset = new Float64Array(places);
    this.#fileOf = new Int32Array(places);
    this.#direct = new Uint8Array(this.files.length);
    this.#left = new Int32Array(this.files.length);
    this.#finalMtime = new Float64Array(this.files.length).fill(Number.NaN);
    let g = 0;
    for (const [f, e] of this.files.entries()) {
      this.#first[f] = g;
      let o = 0;
      for (const [, size] of e.chunks) {
        this.#offset[g] = o;
        this.#fileOf[g] = f;
        o += size;
        g++;
      }
    }
    this.#first[this.files.length] = g;
  }

  /**
   * Starts staging `id` here: its manifest beside the folder, its folders created. With
   * `prepared` (a tree of this manifest's folders and empty files made ahead, prepared-tree.ts),
   * that tree becomes the folder, its files then written into rather than created.
   */
  static async create(
    layout: Layout,
    id: ReleaseId,
    manifest: Manifest,
    prepared?: PreparedTree,
  ): Promise<StagingArea> {
    await mkdir(layout.staging, { recursive: true });
    // Not durable: a manifest lost with a power cut only means the folder is discarded.
    await writeAtomic(layout.stagingManifest(id), JSON.stringify(manifest), { durable: false });
    await rm(layout.stagingDir(id), { recursive: true, force: true });
    // A tree that failed or does not match is left to its owner to delete; the folder is made here.
    const moved = prepared?.matches(manifest) && (await prepared.moveTo(layout.stagingDir(id)));
    const area = new StagingArea(layout, id, manifest, true);
    if (moved && prepared) area.#adopted = prepared.takeOpen();
    await area.#folders();
    return area;
  }

  /**
   * The releases left half-staged by a crash, each scanned (every chunk in place read back and
   * hashed; `found` hears the intact ones). Folders without a valid manifest, and those of
   * releases already kept, are removed.
   */
  static async reopen(
    layout: Layout,
    kept: (id: ReleaseId) => boolean,
    found: (chunk: ChunkId, loc: StagedLoc) => void,
  ): Promise<StagingArea[]> {
    await mkdir(layout.staging, { recursive: true });
    const out: StagingArea[] = [];
    const names = new Set(await readdir(layout.staging));
    for (const name of names) {
      const base = name.replace(/\.json$/, '');
      const id = isReleaseId(base) ? base : undefined;
      const parsed =
        id && !kept(id) && names.has(`${id}.json`) && names.has(id)
          ? validateManifest(await readJson(layout.stagingManifest(id)))
          : undefined;
      if (id && parsed?.ok && releaseIdOf(parsed.value) === id) {
        if (name !== id) continue; // the manifest: opened with its folder
        const area = new StagingArea(layout, id, parsed.value, false);
        await area.#folders();
        await area.#scan(found);
        out.push(area);
      } else await rm(path.join(layout.staging, name), { recursive: true, force: true });
    }
    return out;
  }

  /**
   * False when the folder may hold entries this staging did not write as it went: it was there
   * before (a resume), or an assembly began in it (and failed: what it linked or wrote stays).
   * An assembly then replaces what it finds instead of creating each entry anew.
   */
  get fresh(): boolean {
    return this.#fresh;
  }

  /** An assembly is about to write here: to the next one, whatever it leaves is stale. */
  assembling(): void {
    this.#fresh = false;
  }

  /** When the manifest beside the folder was written (for expiring abandoned stagings). */
  async age(): Promise<number> {
    const st = await stat(this.layout.stagingManifest(this.id)).catch(() => undefined);
    return Date.now() - (st?.mtimeMs ?? 0);
  }

  /**
   * Chooses the files written from chunks as they arrive: `direct(e)` for each file; `absent`
   * tells which chunks will be fetched (the others are filled in at assembly).
   */
  plan(direct: (e: FileEntry) => boolean, absent: (id: ChunkId) => boolean): void {
    this.#direct.fill(0);
    this.#left.fill(0);
    this.#at.clear();
    for (const [f, e] of this.files.entries()) {
      if (!direct(e)) continue;
      this.#direct[f] = 1;
      const first = this.#first[f]!;
      for (const [j, [chunk]] of e.chunks.entries()) {
        const g = first + j;
        if (this.#done[g] || !absent(chunk)) continue;
        const at = this.#at.get(chunk);
        if (at === undefined) this.#at.set(chunk, g);
        else if (typeof at === 'number') this.#at.set(chunk, [at, g]);
        else at.push(g);
        this.#left[f]!++;
      }
    }
  }

  isDirect(e: FileEntry): boolean {
    const f = this.#index.get(e.path);
    return f !== undefined && this.#direct[f] === 1;
  }

  /** Where place g is. */
  #loc(g: number): StagedLoc {
    const f = this.#fileOf[g]!;
    const e = this.files[f]!;
    return {
      release: this.id,
      path: e.path,
      offset: this.#offset[g]!,
      size: e.chunks[g - this.#first[f]!]![1],
    };
  }

  /**
   * Writes a verified chunk at every place of a direct file that wants it; returns one of them,
   * or undefined when no direct file wants it (the caller keeps it in the pool). Synchronous
   * while every write is (small files): no promise per chunk, 20,000 of them on a first deploy.
   */
  place(chunk: ChunkId, data: Buffer): StagedLoc | undefined | Promise<StagedLoc | undefined> {
    const at = this.#at.get(chunk);
    return at === undefined ? undefined : this.#placeFrom(at, 0, data, undefined);
  }

  /** place() from the `i`-th of the chunk's places on, `first` the place found before those. */
  #placeFrom(
    at: number | number[],
    i: number,
    data: Buffer,
    first: StagedLoc | undefined,
  ): StagedLoc | undefined | Promise<StagedLoc | undefined> {
    const n = typeof at === 'number' ? 1 : at.length;
    for (; i < n; i++) {
      const g = typeof at === 'number' ? at : at[i]!;
      const f = this.#fileOf[g]!;
      // The manifest's length is the claim to check; a chunk of another length is not placed.
      if (this.files[f]!.chunks[g - this.#first[f]!]![1] !== data.length) continue;
      if (!this.#done[g]) {
        this.#done[g] = 1;
        const w = this.#placeOne(g, f, data);
        if (w) {
          const found = first ?? this.#loc(g);
          return w.then(() => this.#placeFrom(at, i + 1, data, found));
        }
      }
      first ??= this.#loc(g);
    }
    return first;
  }

  /** Writes place g (marked done: unmarked when the write fails); closes its file when complete. */
  #placeOne(g: number, f: number, data: Buffer): void | Promise<void> {
    let w: void | Promise<void>;
    try {
      w = this.#write(f, data, this.#offset[g]!);
    } catch (e) {
      this.#done[g] = 0;
      throw e;
    }
    if (!w) return this.#placed(f);
    return w.then(
      () => this.#placed(f),
      (e: unknown) => {
        this.#done[g] = 0;
        throw e;
      },
    );
  }

  #placed(f: number): void | Promise<void> {
    failpoint('agent:placed');
    if (--this.#left[f]! <= 0) return this.#closeFile(f);
  }

  /**
   * Assembly of a direct file: writes the chunks still missing (from `chunk`, verified), gives
   * it the manifest's mode and returns its size and mtime.
   */
  async finish(e: FileEntry, chunk: (id: ChunkId) => Promise<Buffer>): Promise<[number, number]> {
    const f = this.#index.get(e.path)!;
    const first = this.#first[f]!;
    const dest = this.#pathOf(e);
    for (const [j, [id, size]] of e.chunks.entries()) {
      const g = first + j;
      if (this.#done[g]) continue;
      const data = await chunk(id);
      if (data.length !== size)
        throw new Error(
          `chunk ${id.slice(0, 12)} of ${e.path} is ${data.length} bytes, the manifest says ${size}`,
        );
      await this.#write(f, data, this.#offset[g]!);
      this.#done[g] = 1;
    }
    if (e.chunks.length === 0) await this.#fd(f); // an empty file: created
    await this.#closeFile(f);
    const mtime = this.#finalMtime[f]!;
    if (!Number.isNaN(mtime)) return [e.size, mtime];
    let st = statSync(dest);
    // Longer: bytes past the end left by someone else in a resumed folder (every place is in).
    if (st.size > e.size) {
      truncateSync(dest, e.size);
      st = statSync(dest);
    }
    if (st.size !== e.size)
      throw new Error(`${e.path} came out ${st.size} bytes, the manifest says ${e.size}`);
    if ((st.mode & 0o777) !== (e.mode & 0o777)) {
      chmodSync(dest, e.mode & 0o777);
      st = statSync(dest);
    }
    return [st.size, st.mtimeMs];
  }

  /**
   * A direct file's size and mtime when every chunk went in while fetching and its descriptor is
   * closed with both noted (#settle): the assembly then has nothing to do for it. Else undefined
   * (finish() completes it).
   */
  finished(e: FileEntry): [number, number] | undefined {
    const f = this.#index.get(e.path);
    if (f === undefined || this.#direct[f] !== 1 || this.#fds.has(f)) return undefined;
    const mtime = this.#finalMtime[f]!;
    return Number.isNaN(mtime) ? undefined : [e.size, mtime];
  }

  /** Closes every file still open (a failed or finished staging). */
  async close(): Promise<void> {
    for (const f of [...this.#fds.keys()]) await this.#closeFile(f);
    for (const fd of this.#adopted.values()) closeSync(fd);
    this.#adopted.clear();
  }

  /** Forgets the staging once its folder became `releases/<id>`. */
  async settled(): Promise<void> {
    await this.close();
    await rm(this.layout.stagingManifest(this.id), { force: true });
  }

  /** Deletes an abandoned staging. */
  async remove(): Promise<void> {
    await this.close();
    await rm(this.layout.stagingManifest(this.id), { force: true });
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Writes `data` at `offset` of file f: on this thread when small and the file is open already. */
  #write(f: number, data: Buffer, offset: number): void | Promise<void> {
    const fd = this.#fd(f);
    if (typeof fd !== 'number' || data.length > SYNC_BYTES) return this.#writeLater(fd, data, offset);
    let at = 0;
    while (at < data.length) at += writeSync(fd, data, at, data.length - at, offset + at);
  }

  async #writeLater(fd: number | Promise<number>, data: Buffer, offset: number): Promise<void> {
    const n = await fd;
    let at = 0;
    while (at < data.length) {
      at +=
        data.length - at <= SYNC_BYTES
          ? writeSync(n, data, at, data.length - at, offset + at)
          : await writeFd(n, data, at, data.length - at, offset + at).then((r) => r.bytesWritten);
    }
  }

  /** File f's descriptor, opened when first asked for. */
  #fd(f: number): number | Promise<number> {
    let fd = this.#fds.get(f);
    if (fd === undefined) {
      const adopted = this.#adopted.get(this.files[f]!.path);
      if (adopted !== undefined) this.#adopted.delete(this.files[f]!.path);
      // A small file is opened on the calling thread, as the pool's appends are written: a
      // thread-pool round trip per file, 20,000 of them, cost more than the open.
      fd = adopted ?? (this.files[f]!.size <= SYNC_BYTES ? this.#openNow(f) : this.#openLater(f));
      this.#fds.set(f, fd);
      if (typeof fd !== 'number') fd.catch(() => this.#fds.delete(f));
    }
    return fd;
  }

  /**
   * A file's path here, as path.join would make it of a validated manifest path (no empty, "."
   * or ".." segment, not absolute), without normalizing 20,000 strings (as releases.ts does).
   */
  #pathOf(e: FileEntry): string {
    return `${this.dir}${path.sep}${e.path}`;
  }

  /**
   * How file f is opened: never through a symlink; with its mode plus the owner's write bit.
   * Never into a file shared with a kept release (a hard link an interrupted assembly left here):
   * that one is replaced by a file of this release's own (#replaced).
   */
  #openArgs(f: number): { file: string; flags: number; mode: number } {
    return {
      file: this.#pathOf(this.files[f]!),
      flags: constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW,
      mode: (this.files[f]!.mode & 0o777) | 0o600,
    };
  }

  #openNow(f: number): number {
    const { file, flags, mode } = this.#openArgs(f);
    let fd: number;
    try {
      fd = openSync(file, flags, mode);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EACCES') throw e;
      chmodSync(file, 0o600); // a read-only mode given at an interrupted assembly
      fd = openSync(file, flags, mode);
    }
    if (!this.#replaced(f, fd)) return fd;
    unlinkSync(file);
    return openSync(file, flags | constants.O_EXCL, mode);
  }

  async #openLater(f: number): Promise<number> {
    const { file, flags, mode } = this.#openArgs(f);
    let fd: number;
    try {
      fd = await openLater(file, flags, mode);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EACCES') throw e;
      chmodSync(file, 0o600); // a read-only mode given at an interrupted assembly
      fd = await openLater(file, flags, mode);
    }
    if (!this.#replaced(f, fd)) return fd;
    await unlink(file);
    return openLater(file, flags | constants.O_EXCL, mode);
  }

  /**
   * Whether file f, just opened as `fd`, is not this staging's own (a link to a kept release's
   * file, or not a plain file): then `fd` is closed, its places forgotten, for the caller to
   * unlink it and create it anew.
   */
  #replaced(f: number, fd: number): boolean {
    // A folder this staging made (fresh) holds no link to a kept release: no need to look.
    if (this.#fresh) return false;
    const st = fstatSync(fd);
    if (st.nlink <= 1 && st.isFile()) return false;
    closeSync(fd);
    this.#done.fill(0, this.#first[f]!, this.#first[f + 1]!);
    return true;
  }

  #closeFile(f: number): void | Promise<void> {
    const fd = this.#fds.get(f);
    if (fd === undefined) return;
    this.#fds.delete(f);
    if (typeof fd === 'number') return this.#closeFd(f, fd);
    return fd.then(
      (n) => this.#closeFd(f, n),
      () => {},
    );
  }

  #closeFd(f: number, fd: number): void | Promise<void> {
    this.#settle(f, fd);
    if (this.files[f]!.size <= SYNC_BYTES) closeSync(fd);
    else return closeFd(fd).catch(() => {});
  }

  /** A file with every chunk in place gets its mode, and its mtime is noted (#finalMtime). */
  #settle(f: number, fd: number): void {
    const e = this.files[f]!;
    if (this.#done.subarray(this.#first[f]!, this.#first[f + 1]!).includes(0)) return;
    const st = fstatSync(fd);
    // Longer than the manifest says (a resumed folder's leftover bytes): assembly looks at it.
    if (st.size !== e.size) return;
    // A mode change leaves the mtime as it is: no second look.
    if ((st.mode & 0o777) !== (e.mode & 0o777)) fchmodSync(fd, e.mode & 0o777);
    this.#finalMtime[f] = st.mtimeMs;
  }

  async #folders(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const e of this.manifest.entries) {
      if (e.type !== 'dir') continue;
      const dest = path.resolve(this.dir, e.path);
      if (!dest.startsWith(this.dir + path.sep)) throw new Error(`refused path ${e.path}`);
      // On this thread: a quick call each (a prepared tree has them all already), where a
      // thread-pool round trip each cost more (240 folders: ~30 ms before the transfer began).
      mkdirSync(dest, { recursive: true, mode: 0o755 });
      // An interrupted assembly may have given a folder its final, read-only mode already.
      if (!this.fresh) chmodSync(dest, 0o755);
    }
  }

  /** Reads back every chunk of every file here; marks and reports those whose hash matches. */
  async #scan(found: (chunk: ChunkId, loc: StagedLoc) => void): Promise<void> {
    for (const [f, e] of this.files.entries()) {
      const file = path.join(this.dir, e.path);
      let st: ReturnType<typeof lstatSync>;
      try {
        st = lstatSync(file);
      } catch {
        continue;
      }
      // A link to a kept release's file, or anything not a plain file: not this staging's bytes.
      if (!st.isFile() || st.nlink > 1) {
        await rm(file, { recursive: true, force: true });
        continue;
      }
      const fd = await openLater(file, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        await this.#scanFile(f, e, fd, found);
      } finally {
        await closeFd(fd);
      }
    }
  }

  async #scanFile(
    f: number,
    e: FileEntry,
    fd: number,
    found: (chunk: ChunkId, loc: StagedLoc) => void,
  ): Promise<void> {
    const base = this.#first[f]!;
    let j = 0;
    while (j < e.chunks.length) {
      // Consecutive chunks read as one block of up to SCAN_BLOCK bytes.
      const start = this.#offset[base + j]!;
      let end = j;
      let len = 0;
      while (end < e.chunks.length && (len === 0 || len + e.chunks[end]![1] <= SCAN_BLOCK)) {
        len += e.chunks[end]![1];
        end++;
      }
      const buf = Buffer.allocUnsafe(len);
      let got = 0;
      while (got < len) {
        const n = readSync(fd, buf, got, len - got, start + got);
        if (n === 0) break;
        got += n;
      }
      for (let k = j; k < end; k++) {
        const [id, size] = e.chunks[k]!;
        const at = this.#offset[base + k]! - start;
        if (at + size > got) break;
        if (chunkIdOf(buf.subarray(at, at + size)) !== id) continue;
        this.#done[base + k] = 1;
        found(id, this.#loc(base + k));
      }
      j = end;
    }
  }
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}
