/**
 * The files of a release being staged, as chunks are written into them (staging-area.ts): each
 * opened once when first written, on this thread when small; never through a symlink nor into a
 * file shared with a kept release (one an interrupted assembly hard-linked here is replaced);
 * written at a chunk's offset, synchronously when small; and, once every place holds its chunk,
 * given the manifest's mode with its mtime noted before the close, so that assembly needs no
 * second look at it.
 */
import {
  chmodSync,
  close,
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  open,
  openSync,
  unlinkSync,
  write,
  writeSync,
} from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { fstatNumbers } from '../../util/lstat-numbers.js';
import type { ManifestEntry } from '../manifest.js';
import type { StagingPlaces } from './staging-places.js';

type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

const openLater = promisify(open);
const closeFd = promisify(close);
const writeFd = promisify(write);
/** Writes up to this size are made on the calling thread (as the pool's appends were). */
const SYNC_BYTES = 64 * 1024;

export class StagingFiles {
  /** Open descriptors by file: a number once known (small files are opened on this thread). */
  readonly #fds = new Map<number, number | Promise<number>>();
  /**
   * Descriptors of the prepared tree's files (prepared-tree.ts), by file index (the tree's files
   * are the manifest's, in its order): a file's first write takes its own instead of opening the
   * file; closed with the rest when the staging closes.
   */
  #adopted = new Map<number, number>();
  /**
   * Per file: its mtime once complete, taken from its descriptor before the close (its mode set
   * then too), so that assembly needs no second look at it by path; NaN while unknown.
   */
  readonly #finalMtime: Float64Array;

  readonly #places: StagingPlaces;
  /** The staging, for its `fresh` (#replaced). */
  readonly #owner: { readonly fresh: boolean };

  constructor(
    readonly dir: string,
    places: StagingPlaces,
    owner: { readonly fresh: boolean },
  ) {
    this.#places = places;
    this.#owner = owner;
    this.#finalMtime = new Float64Array(places.files.length).fill(Number.NaN);
  }

  /** Takes the prepared tree's open descriptors (prepared-tree.ts), by file index. */
  adopt(fds: Map<number, number>): void {
    this.#adopted = fds;
  }

  /** Whether file f has a descriptor open (or opening). */
  isOpen(f: number): boolean {
    return this.#fds.has(f);
  }

  /** Notes file f as complete and closed, with its mode given, at `mtime` (a streamed stage's). */
  noteFinal(f: number, mtime: number): void {
    this.#finalMtime[f] = mtime;
  }

  /** File f's mtime as noted when it was completed and closed; NaN while unknown. */
  finalMtime(f: number): number {
    return this.#finalMtime[f]!;
  }

  /** Closes every file still open (a failed or finished staging). */
  async close(): Promise<void> {
    for (const f of [...this.#fds.keys()]) await this.closeFile(f);
    for (const fd of this.#adopted.values()) closeSync(fd);
    this.#adopted.clear();
  }

  /** Writes `data` at `offset` of file f: on this thread when small and the file is open already. */
  write(f: number, data: Buffer, offset: number): void | Promise<void> {
    const fd = this.fd(f);
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
  fd(f: number): number | Promise<number> {
    let fd = this.#fds.get(f);
    if (fd === undefined) {
      const adopted = this.#adopted.get(f);
      if (adopted !== undefined) this.#adopted.delete(f);
      // A small file is opened on the calling thread, as the pool's appends are written: a
      // thread-pool round trip per file, 20,000 of them, cost more than the open.
      fd = adopted ?? (this.#places.files[f]!.size <= SYNC_BYTES ? this.#openNow(f) : this.#openLater(f));
      this.#fds.set(f, fd);
      if (typeof fd !== 'number') fd.catch(() => this.#fds.delete(f));
    }
    return fd;
  }

  /**
   * A file's path here, as path.join would make it of a validated manifest path (no empty, "."
   * or ".." segment, not absolute), without normalizing 20,000 strings (as assembly.ts does).
   */
  pathOf(e: FileEntry): string {
    return `${this.dir}${path.sep}${e.path}`;
  }

  /**
   * How file f is opened: never through a symlink; with its mode plus the owner's write bit.
   * Never into a file shared with a kept release (a hard link an interrupted assembly left here):
   * that one is replaced by a file of this release's own (#replaced).
   */
  #openArgs(f: number): { file: string; flags: number; mode: number } {
    return {
      file: this.pathOf(this.#places.files[f]!),
      flags: constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW,
      mode: (this.#places.files[f]!.mode & 0o777) | 0o600,
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
    if (this.#owner.fresh) return false;
    const st = fstatSync(fd);
    if (st.nlink <= 1 && st.isFile()) return false;
    closeSync(fd);
    this.#places.done.fill(0, this.#places.first[f]!, this.#places.first[f + 1]!);
    return true;
  }

  /** Closes file f if open, settling it first (#settle); synchronous for a small file. */
  closeFile(f: number): void | Promise<void> {
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
    if (this.#places.files[f]!.size <= SYNC_BYTES) closeSync(fd);
    else return closeFd(fd).catch(() => {});
  }

  /** A file with every chunk in place gets its mode, and its mtime is noted (#finalMtime). */
  #settle(f: number, fd: number): void {
    const e = this.#places.files[f]!;
    if (this.#places.done.subarray(this.#places.first[f]!, this.#places.first[f + 1]!).includes(0)) return;
    // Its numbers only: no Stats object and four Dates per file (20,000 on a first deploy).
    const st = fstatNumbers(fd);
    // Longer than the manifest says (a resumed folder's leftover bytes): assembly looks at it.
    if (st.size !== e.size) return;
    // A mode change leaves the mtime as it is: no second look.
    if ((st.mode & 0o777) !== (e.mode & 0o777)) fchmodSync(fd, e.mode & 0o777);
    this.#finalMtime[f] = st.mtimeMs;
  }
}
