/**
 * The chunk ledger: for one artifact folder, each file's stat as of the last deploy, and the
 * manifest that deploy sent (whose entries hold the files' chunks). A file whose stat is
 * unchanged and was not racy when taken (state/racy.ts) keeps its entry without being read
 * again, so an unchanged artifact is re-examined with stats alone (the trick the build cache
 * plays with outputs). The manifest lets the next deploy send only a delta to an agent that still
 * runs it. The ledger is a cache: lost or damaged, the artifact is chunked again.
 *
 * The racy rule judges records against the filesystem's own clock when it can: before the walk,
 * the ledger writes a stamp file and notes the time the filesystem gave it; a file on the same
 * filesystem changed strictly before that stamp is settled, however recently (a file written a
 * second before a deploy is not chunked again by the next). Files on another filesystem, or
 * without a stamp, are judged by the wall clock with its two-second margin.
 *
 * A folder's stat is recorded too: one unchanged and settled by the same rule has the names it
 * had (adding, removing or renaming an entry moves its mtime and ctime), so the walk takes its
 * listing from the ledger instead of reading the folder again (`listing`).
 *
 * Its files, their format and how a save writes them: chunk-ledger-file.ts.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type FsStamp, isRacy } from '../state/racy.js';
import { fsNow } from '../state/stat-record.js';
import type { StatNumbers } from '../util/lstat-numbers.js';
import {
  type LoadedLedger,
  ledgerFile,
  readLedger,
  recordIs,
  StatRecords,
  writeLedger,
} from './chunk-ledger-file.js';
import { FAST_BYTES, type FastSeed, newFastSeed } from './fast-hash.js';
import type { ChunkingParams } from './fastcdc.js';
import type { Manifest, ManifestEntry } from './manifest.js';
import type { ChunkId, ReleaseId } from './types.js';

type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

export class ChunkLedger {
  /** The last walk's entries, each file's and folder's stat (by its rank), and its JSON. */
  readonly #old: LoadedLedger | undefined;
  /** Entry index -> rank among the files and folders (-1 for symlinks); none when there are no symlinks (the rank is the index). */
  readonly #rank: Int32Array | undefined;
  /** Folder path ('' the root) -> the paths in it at the last walk, built at the first `listing`. */
  #paths: Map<string, string[]> | undefined;
  /** Path -> entry index, built only when the walk's order leaves the old one. */
  #byPath: Map<string, number> | undefined;
  /** The entry index where the walk is expected to ask next. */
  #cursor = 0;
  /** When the last walk's stats were taken: its stamp, and the wall clock for other filesystems. */
  readonly #oldStamp: FsStamp | undefined;
  readonly #oldAt: number;
  #records = new StatRecords();
  #at = Date.now();
  #stamp: FsStamp | undefined;
  readonly #last: { release: ReleaseId; manifest: Manifest } | undefined;
  /** Fast hashes by file entry: the last walk's, then those this walk took. */
  readonly #fast: Map<ManifestEntry, Uint8Array>;
  /** Whether this walk took fast hashes (noteFast). */
  #fastNoted = false;
  /** The fast hashes' seed: the ledger's, or a new one for a new ledger. */
  readonly #seed: FastSeed;

  private constructor(
    readonly file: string | undefined,
    readonly root: string,
    readonly chunking: ChunkingParams,
    loaded: LoadedLedger | undefined,
  ) {
    this.#oldStamp = loaded?.head.stamp;
    this.#oldAt = loaded?.head.at ?? 0;
    this.#old = loaded;
    this.#seed = loaded?.head.seed ?? newFastSeed();
    this.#fast = new Map(loaded?.fast);
    if (!loaded) return;
    const { entries: all } = loaded;
    let links = 0;
    for (const e of all) if (e.type === 'symlink') links++;
    if (links) {
      const rank = new Int32Array(all.length);
      let records = 0;
      for (let i = 0; i < all.length; i++) rank[i] = all[i]!.type === 'symlink' ? -1 : records++;
      this.#rank = rank;
    }
    if (all.length - links !== loaded.head.records) {
      this.#old = undefined;
      this.#fast.clear();
      return;
    }
    const { head, entries } = loaded;
    this.#last = {
      release: head.release,
      manifest: { format: 1, version: head.version, chunking: head.chunking, entries },
    };
  }

  /** The ledger of `root` kept in `dir` (one file per folder and chunking); empty when absent or unreadable. */
  static async open(dir: string | undefined, root: string, chunking: ChunkingParams): Promise<ChunkLedger> {
    const abs = path.resolve(root);
    if (!dir) return new ChunkLedger(undefined, abs, chunking, undefined);
    const file = ledgerFile(dir, abs, chunking);
    const loaded = readLedger(file);
    const fits =
      loaded?.head.root === abs && JSON.stringify(loaded.head.chunking) === JSON.stringify(chunking);
    return new ChunkLedger(file, abs, chunking, fits ? loaded : undefined);
  }

  /** Marks the moment before the walk's stats: the wall clock, and a stamp on the ledger's filesystem. */
  begin(): void {
    this.#at = Date.now();
    this.#records = new StatRecords();
    this.#cursor = 0;
    if (!this.file) return;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
    } catch {
      return;
    }
    this.#stamp = fsNow(path.join(path.dirname(this.file), '.stamp'));
  }

  /**
   * The last deploy's entry at `rel`. The walk asks in the order it wrote them, so this is one
   * comparison with the entry after the last one found, unless paths came or went.
   */
  entry(rel: string): ManifestEntry | undefined {
    const at = this.#find(rel);
    return at < 0 ? undefined : this.#old!.entries[at];
  }

  #find(rel: string): number {
    const old = this.#old;
    if (!old) return -1;
    const c = this.#cursor;
    if (old.entries[c]?.path === rel) {
      this.#cursor = c + 1;
      return c;
    }
    if (c > 0 && old.entries[c - 1]!.path === rel) return c - 1;
    if (!this.#byPath) {
      this.#byPath = new Map();
      for (const [i, e] of old.entries.entries()) this.#byPath.set(e.path, i);
    }
    const at = this.#byPath.get(rel) ?? -1;
    if (at >= 0) this.#cursor = at + 1;
    return at;
  }

  /**
   * The last deploy's entry of the file `rel` if its stat `st` is unchanged and was not racy when
   * taken (judged by the stamp only on the stamp's filesystem): its content is as chunked then.
   */
  lookup(rel: string, st: StatNumbers): FileEntry | undefined {
    const at = this.#find(rel);
    if (at < 0) return undefined;
    const e = this.#old!.entries[at]!;
    if (e.type !== 'file' || e.size !== st.size) return undefined;
    return this.#settled(at, st) ? e : undefined;
  }

  /**
   * The paths of the entries in the folder `rel` (sorted by name, as the walk lists them) at the
   * last walk, if its stat `st` is unchanged and was not racy when taken: an entry added, removed
   * or renamed in it since would have moved its times. The strings are the entries' own.
   */
  listing(rel: string, st: StatNumbers): string[] | undefined {
    const at = this.#find(rel);
    if (at < 0 || this.#old!.entries[at]!.type !== 'dir' || !this.#settled(at, st)) return undefined;
    this.#paths ??= pathsByFolder(this.#old!.entries);
    return this.#paths.get(rel) ?? [];
  }

  /** Whether entry `at`'s recorded stat is `st`'s, taken when it was settled. */
  #settled(at: number, st: StatNumbers): boolean {
    const rank = this.#rank ? this.#rank[at]! : at;
    if (rank < 0) return false;
    if (!recordIs(this.#old!.stats, rank, st)) return false;
    const stamp = this.#oldStamp;
    // By the stamp of its own filesystem, its ctime not before the stamp (less a microsecond,
    // for the stamp's other rounding); else within two seconds of the wall clock.
    if (stamp?.dev === st.dev) return st.ctimeMs < stamp.ms - 0.001;
    return !isRacy(Math.max(st.mtimeMs, st.ctimeMs), this.#oldAt);
  }

  /**
   * The chunks `rel` had at the last deploy whatever its stat now: a changed file's old chunk
   * list, for incremental chunking (rechunk.ts checks every chunk it takes from it).
   */
  previous(rel: string): [ChunkId, number][] | undefined {
    const e = this.entry(rel);
    return e?.type === 'file' ? e.chunks : undefined;
  }

  /**
   * The seed to take fast hashes of chunks with (fast-hash.ts), to be kept with them by
   * `noteFast`; undefined for a ledger kept nowhere (nothing would keep them).
   */
  get fastSeed(): FastSeed | undefined {
    return this.file ? this.#seed : undefined;
  }

  /** The fast hashes of the chunks `rel` had at the last deploy (16 bytes each, in order), if known. */
  previousFast(rel: string): Uint8Array | undefined {
    const e = this.entry(rel);
    return e ? this.#fast.get(e) : undefined;
  }

  /**
   * Keeps the fast hashes of the chunks of `entry`, a file this walk chunked (taken with
   * `fastSeed`, 16 bytes each in the order of its chunks), for the next deploy.
   */
  noteFast(entry: ManifestEntry, hashes: Uint8Array): void {
    if (entry.type !== 'file' || hashes.length !== entry.chunks.length * FAST_BYTES) return;
    this.#fast.set(entry, hashes);
    this.#fastNoted = true;
  }

  /**
   * Notes a file's or folder's stat for the next deploy, in the manifest's order. A double
   * keeps a quarter of a microsecond of a time in ms, finer than the kernel's file times tick; a
   * change so close to another that they round alike is one made after the stamp that precedes
   * the walk, so racy either way.
   */
  record(st: StatNumbers): void {
    this.#records.push(st);
  }

  /** The manifest of the previous walk of this folder, and its release id (absent on a first deploy). */
  get last(): { release: ReleaseId; manifest: Manifest } | undefined {
    return this.#last;
  }

  /**
   * Remembers this walk's records and manifest for the next deploy; a no-op without a folder.
   * When the walk found everything as it was (the same entries, the same stats), only the head
   * is written: the body on disk already holds these bytes.
   */
  async save(last: { release: ReleaseId; manifest: Manifest }): Promise<void> {
    if (!this.file) return;
    await writeLedger(this.file, {
      root: this.root,
      chunking: this.chunking,
      stamp: this.#stamp,
      at: this.#at,
      release: last.release,
      manifest: last.manifest,
      records: this.#records,
      seed: this.#seed,
      fast: this.#fast,
      fastNoted: this.#fastNoted,
      old: this.#old,
    });
  }
}

/**
 * Folder path ('' the root) -> the paths of the entries in it, in the entries' order. Entries
 * come folder by folder: a run of one parent's entries is found by one comparison each, not a
 * map lookup.
 */
function pathsByFolder(entries: readonly ManifestEntry[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let parent = '';
  let paths: string[] = [];
  out.set('', paths);
  for (const e of entries) {
    const p = e.path;
    const slash = p.lastIndexOf('/');
    const same = slash < 0 ? parent === '' : slash === parent.length && p.startsWith(parent);
    if (!same) {
      parent = slash < 0 ? '' : p.slice(0, slash);
      paths = out.get(parent) ?? [];
      out.set(parent, paths);
    }
    paths.push(p);
  }
  return out;
}
