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
 * File format 7, two files, each read in one go. The head (`<key>.ledger`): one line of JSON,
 * then one line with its SHA-256 (hex). The body (`<key>.<16 hex of its SHA-256>.body`, the head
 * naming its whole SHA-256): each file's and folder's stat as five doubles (size, mtime and ctime
 * in ms, inode, mode; in the manifest's order and the machine's byte order, which the head names),
 * then the manifest's entries as JSON, then the fast hashes of files that have them (fast-hash.ts;
 * `fastBytes` in the head): per such file its entry's index and its chunk count (two 32-bit
 * little-endian words), then 16 bytes per chunk. The head holds the seed of those hashes, which
 * never leaves this file. Format 6 (the same without fast hashes nor seed) is still read: its
 * changed files are confirmed by SHA-256, and the next save writes format 7 with their fast
 * hashes. Numbers, not the text records of format 3: compared as they
 * come from lstat, without a string per file to build, keep and collect. The checksums guard
 * what a deploy would otherwise trust blindly: a damaged chunk list of an unchanged file, or a
 * damaged time in the head that would make a racy file look settled.
 *
 * Two files so that a deploy that changed nothing writes only the head (its release, version and
 * times): the body, 4 MB for 20,000 files, is written again only when its bytes differ. It goes
 * under a new name before the head that names it, and the old one is removed after, so a crash
 * at any point leaves a head and the body it names, or a head whose body is gone (read as empty).
 */
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeAtomic } from '../state/atomic-write.js';
import { type FsStamp, isRacy } from '../state/racy.js';
import { fsNow } from '../state/stat-record.js';
import type { StatNumbers } from '../util/lstat-numbers.js';
import { chunkCount, knownChunkCount } from './chunk-index.js';
import { FAST_BYTES, type FastSeed, isFastSeed, newFastSeed } from './fast-hash.js';
import type { ChunkingParams } from './fastcdc.js';
import { entriesJsonOf, knownEntriesJson, type Manifest, type ManifestEntry } from './manifest.js';
import type { ChunkId, ReleaseId } from './types.js';

/** Bumped when the layout changes: a ledger of another format reads as empty (but for OLD_FORMAT). */
const FORMAT = 7;

/** The format before fast hashes, read as one of FORMAT without any. */
const OLD_FORMAT = 6;

/** Doubles per file or folder: size, mtimeMs, ctimeMs, ino, mode. */
const FIELDS = 5;

type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

interface Head {
  format: typeof FORMAT | typeof OLD_FORMAT;
  root: string;
  chunking: ChunkingParams;
  /** The stamp written before the walk (undefined: the wall clock when it began, `at`). */
  stamp?: FsStamp;
  at: number;
  release: ReleaseId;
  version: string;
  endian: 'LE' | 'BE';
  /** Stat records: one per file and folder. */
  records: number;
  /** Length in bytes of the entries' JSON. */
  entriesBytes: number;
  /** SHA-256 (hex) of the body: the stats, then the entries' JSON. */
  body: string;
  /** Distinct chunks of the entries (the deploy reports it; counting them is a set of 20,000 ids). */
  chunks?: number;
  /** The seed of the fast hashes (format 7). */
  seed?: FastSeed;
  /** Length in bytes of the fast hashes after the entries' JSON (format 7). */
  fastBytes?: number;
}

interface Loaded {
  head: Head;
  stats: Float64Array;
  entries: ManifestEntry[];
  /** The entries' JSON as read: written again as it is when they have not changed. */
  json: Buffer;
  /** Files' fast hashes (16 bytes per chunk, in order), by entry. */
  fast: Map<ManifestEntry, Uint8Array>;
  /** The fast hashes' part of the body as read. */
  fastPart: Buffer;
}

/** Stat numbers of the walk being recorded, grown by doubling. */
class Records {
  #data = new Float64Array(FIELDS * 1024);
  length = 0;

  push(st: StatNumbers): void {
    if ((this.length + 1) * FIELDS > this.#data.length) {
      const grown = new Float64Array(this.#data.length * 2);
      grown.set(this.#data);
      this.#data = grown;
    }
    const d = this.#data;
    const o = this.length++ * FIELDS;
    d[o] = st.size;
    d[o + 1] = st.mtimeMs;
    d[o + 2] = st.ctimeMs;
    d[o + 3] = st.ino;
    d[o + 4] = st.mode;
  }

  bytes(): Buffer {
    return Buffer.from(this.#data.buffer, this.#data.byteOffset, this.length * FIELDS * 8);
  }
}

export class ChunkLedger {
  /** The last walk's entries, each file's and folder's stat (by its rank), and its JSON. */
  readonly #old: Loaded | undefined;
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
  #records = new Records();
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
    loaded: Loaded | undefined,
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
    const key = createHash('sha256')
      .update(`${abs}\0${JSON.stringify(chunking)}`)
      .digest('hex');
    const file = path.join(dir, `${key.slice(0, 24)}.ledger`);
    const loaded = read(file);
    const fits =
      loaded?.head.root === abs && JSON.stringify(loaded.head.chunking) === JSON.stringify(chunking);
    return new ChunkLedger(file, abs, chunking, fits ? loaded : undefined);
  }

  /** Marks the moment before the walk's stats: the wall clock, and a stamp on the ledger's filesystem. */
  begin(): void {
    this.#at = Date.now();
    this.#records = new Records();
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
    const s = this.#old!.stats;
    const o = rank * FIELDS;
    if (s[o] !== st.size || s[o + 1] !== st.mtimeMs || s[o + 2] !== st.ctimeMs) return false;
    if (s[o + 3] !== st.ino || s[o + 4] !== st.mode) return false;
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
    const { entries } = last.manifest;
    const old = this.#old;
    const records = this.#records.bytes();
    // Entries taken whole from this ledger (an unchanged artifact): their JSON as it was read.
    const same = old !== undefined && entries === old.entries;
    const json = same ? old.json : Buffer.from(entriesJsonOf(entries));
    const fast = same && !this.#fastNoted ? old.fastPart : fastPart(entries, this.#fast);
    const unchanged = same && !this.#fastNoted && Buffer.from(old.stats.buffer).equals(records);
    const body = unchanged
      ? old.head.body
      : createHash('sha256').update(records).update(json).update(fast).digest('hex');
    const head: Head = {
      format: FORMAT,
      root: this.root,
      chunking: this.chunking,
      ...(this.#stamp ? { stamp: this.#stamp } : {}),
      at: this.#at,
      release: last.release,
      version: last.manifest.version,
      endian: os.endianness(),
      records: this.#records.length,
      entriesBytes: json.length,
      body,
      chunks: chunkCount(entries),
      seed: this.#seed,
      fastBytes: fast.length,
    };
    const headLine = `${JSON.stringify(head)}\n`;
    const headSha = createHash('sha256').update(headLine).digest('hex');
    // Not durable: losing the ledger in a power cut costs one full chunking, nothing else.
    try {
      if (!unchanged)
        await writeAtomic(bodyFile(this.file, body), Buffer.concat([records, json, fast]), {
          durable: false,
        });
      await writeAtomic(this.file, `${headLine}${headSha}\n`, { durable: false });
    } catch {
      return;
    }
    if (!unchanged) await this.#removeOthers(body).catch(() => {});
  }

  /** Bodies of this ledger other than `body` (the last one, one a crash left), and the JSON ledger of format 1. */
  async #removeOthers(body: string): Promise<void> {
    const file = this.file!;
    const dir = path.dirname(file);
    const keep = path.basename(bodyFile(file, body));
    const stem = `${path.basename(file, '.ledger')}.`;
    for (const name of await readdir(dir))
      if (name.startsWith(stem) && name.endsWith('.body') && name !== keep)
        await rm(path.join(dir, name), { force: true });
    await rm(file.replace(/\.ledger$/, '.json'), { force: true });
  }
}

/**
 * The fast hashes' part of a body: for each file of `entries` with fast hashes in `fast` (as many
 * as its chunks), its index and chunk count (32-bit little-endian words), then the hashes.
 */
function fastPart(entries: readonly ManifestEntry[], fast: ReadonlyMap<ManifestEntry, Uint8Array>): Buffer {
  if (fast.size === 0) return Buffer.alloc(0);
  const parts: Uint8Array[] = [];
  for (const [i, e] of entries.entries()) {
    const h = e.type === 'file' ? fast.get(e) : undefined;
    if (!h || h.length !== (e as FileEntry).chunks.length * FAST_BYTES) continue;
    const words = Buffer.alloc(8);
    words.writeUInt32LE(i, 0);
    words.writeUInt32LE(h.length / FAST_BYTES, 4);
    parts.push(words, h);
  }
  return Buffer.concat(parts);
}

/** The fast hashes of a body's part (fastPart), by entry; empty when the part does not fit the entries. */
function readFast(part: Buffer, entries: readonly ManifestEntry[]): Map<ManifestEntry, Uint8Array> {
  const out = new Map<ManifestEntry, Uint8Array>();
  for (let o = 0; o < part.length; ) {
    if (o + 8 > part.length) return new Map();
    const e = entries[part.readUInt32LE(o)];
    const count = part.readUInt32LE(o + 4);
    const end = o + 8 + count * FAST_BYTES;
    if (e?.type !== 'file' || e.chunks.length !== count || end > part.length) return new Map();
    out.set(e, part.subarray(o + 8, end));
    o = end;
  }
  return out;
}

/** The body named by the head `file` whose body has SHA-256 `sha` (hex). */
function bodyFile(file: string, sha: string): string {
  return file.replace(/\.ledger$/, `.${sha.slice(0, 16)}.body`);
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

/** A ledger's head and body, or undefined when absent, damaged or of another format. */
function read(file: string): Loaded | undefined {
  try {
    const top = readFileSync(file);
    const nl = top.indexOf(10);
    if (nl < 0 || top.length !== nl + 66 || top[nl + 65] !== 10) return undefined;
    const headSha = createHash('sha256')
      .update(top.subarray(0, nl + 1))
      .digest('hex');
    if (headSha !== top.toString('latin1', nl + 1, nl + 65)) return undefined;
    const head = JSON.parse(top.toString('utf8', 0, nl)) as Head;
    if ((head.format !== FORMAT && head.format !== OLD_FORMAT) || head.endian !== os.endianness())
      return undefined;
    if (!Number.isSafeInteger(head.records) || !Number.isSafeInteger(head.entriesBytes)) return undefined;
    if (typeof head.body !== 'string' || !/^[0-9a-f]{64}$/.test(head.body)) return undefined;
    // Format 6 has neither; a seed that is not one is dropped with the hashes taken with it.
    const fastBytes = head.format === FORMAT && isFastSeed(head.seed) ? (head.fastBytes ?? 0) : 0;
    if (!Number.isSafeInteger(fastBytes) || fastBytes < 0) return undefined;
    if (!isFastSeed(head.seed)) delete head.seed;
    const bytes = readFileSync(bodyFile(file, head.body));
    const statBytes = head.records * FIELDS * 8;
    if (bytes.length !== statBytes + head.entriesBytes + fastBytes) return undefined;
    if (createHash('sha256').update(bytes).digest('hex') !== head.body) return undefined;
    // Copied out: the file's bytes need not sit at a multiple of 8 in memory.
    const stats = new Float64Array(head.records * FIELDS);
    Buffer.from(stats.buffer).set(bytes.subarray(0, statBytes));
    const json = bytes.subarray(statBytes, statBytes + head.entriesBytes);
    // Paths, hashes and JSON are almost always ASCII: then latin1 is the same text, decoded faster.
    const text = isAscii(json) ? json.toString('latin1') : json.toString('utf8');
    const entries = JSON.parse(text) as ManifestEntry[];
    if (!Array.isArray(entries)) return undefined;
    // Written by JSON.stringify and checked unchanged: the text is theirs, for the release id.
    knownEntriesJson(entries, text);
    if (Number.isSafeInteger(head.chunks)) knownChunkCount(entries, head.chunks!);
    const fastPart = bytes.subarray(statBytes + head.entriesBytes);
    return { head, stats, entries, json, fast: readFast(fastPart, entries), fastPart };
  } catch {
    return undefined;
  }
}
