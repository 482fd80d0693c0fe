/**
 * The chunk ledger's files (chunk-ledger.ts keeps the ledger itself: what a walk asks of them).
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
import { readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeAtomic } from '../state/atomic-write.js';
import type { FsStamp } from '../state/racy.js';
import type { StatNumbers } from '../util/lstat-numbers.js';
import { chunkCount, knownChunkCount } from './chunk-index.js';
import { FAST_BYTES, type FastSeed, isFastSeed } from './fast-hash.js';
import type { ChunkingParams } from './fastcdc.js';
import { entriesJsonOf, knownEntriesJson, type Manifest, type ManifestEntry } from './manifest.js';
import type { ReleaseId } from './types.js';

/** Bumped when the layout changes: a ledger of another format reads as empty (but for OLD_FORMAT). */
const FORMAT = 7;

/** The format before fast hashes, read as one of FORMAT without any. */
const OLD_FORMAT = 6;

/** Doubles per file or folder: size, mtimeMs, ctimeMs, ino, mode. */
const FIELDS = 5;

type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

/** The head's line of JSON. */
export interface LedgerHead {
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

/** A ledger as read: its head, the body's stats and entries, and its parts as they were. */
export interface LoadedLedger {
  head: LedgerHead;
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
export class StatRecords {
  #data = new Float64Array(FIELDS * 1024);
  length = 0;

  /** Notes a file's or folder's stat, after those noted before. */
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

  /** The records as the body holds them (a view, not a copy). */
  bytes(): Buffer {
    return Buffer.from(this.#data.buffer, this.#data.byteOffset, this.length * FIELDS * 8);
  }
}

/** Whether the stat record of rank `rank` in `stats` (StatRecords' layout) is `st`'s. */
export function recordIs(stats: Float64Array, rank: number, st: StatNumbers): boolean {
  const o = rank * FIELDS;
  if (stats[o] !== st.size || stats[o + 1] !== st.mtimeMs || stats[o + 2] !== st.ctimeMs) return false;
  return stats[o + 3] === st.ino && stats[o + 4] === st.mode;
}

/** The head file of the ledger of the folder `abs` chunked with `chunking`, kept in `dir`. */
export function ledgerFile(dir: string, abs: string, chunking: ChunkingParams): string {
  const key = createHash('sha256')
    .update(`${abs}\0${JSON.stringify(chunking)}`)
    .digest('hex');
  return path.join(dir, `${key.slice(0, 24)}.ledger`);
}

/** What a save writes: the walk's records and manifest, and what its head says of them. */
export interface LedgerSave {
  root: string;
  chunking: ChunkingParams;
  stamp: FsStamp | undefined;
  at: number;
  release: ReleaseId;
  manifest: Manifest;
  records: StatRecords;
  seed: FastSeed;
  /** Fast hashes by file entry (those of other entries are ignored). */
  fast: ReadonlyMap<ManifestEntry, Uint8Array>;
  /** Whether the walk took fast hashes: the read ledger's part of the body is stale. */
  fastNoted: boolean;
  /** The ledger as read, whose bytes are written again as they are where nothing changed. */
  old: LoadedLedger | undefined;
}

/**
 * Writes a ledger's body (unless the one on disk already holds these bytes: the same entries,
 * the same stats) and then its head; failures are dropped (a lost ledger costs a full chunking).
 */
export async function writeLedger(file: string, s: LedgerSave): Promise<void> {
  const { entries } = s.manifest;
  const old = s.old;
  const records = s.records.bytes();
  // Entries taken whole from this ledger (an unchanged artifact): their JSON as it was read.
  const same = old !== undefined && entries === old.entries;
  const json = same ? old.json : Buffer.from(entriesJsonOf(entries));
  const fast = same && !s.fastNoted ? old.fastPart : fastPart(entries, s.fast);
  const unchanged = same && !s.fastNoted && Buffer.from(old.stats.buffer).equals(records);
  const body = unchanged
    ? old.head.body
    : createHash('sha256').update(records).update(json).update(fast).digest('hex');
  const head: LedgerHead = {
    format: FORMAT,
    root: s.root,
    chunking: s.chunking,
    ...(s.stamp ? { stamp: s.stamp } : {}),
    at: s.at,
    release: s.release,
    version: s.manifest.version,
    endian: os.endianness(),
    records: s.records.length,
    entriesBytes: json.length,
    body,
    chunks: chunkCount(entries),
    seed: s.seed,
    fastBytes: fast.length,
  };
  const headLine = `${JSON.stringify(head)}\n`;
  const headSha = createHash('sha256').update(headLine).digest('hex');
  // Not durable: losing the ledger in a power cut costs one full chunking, nothing else.
  try {
    if (!unchanged)
      await writeAtomic(bodyFile(file, body), Buffer.concat([records, json, fast]), {
        durable: false,
      });
    await writeAtomic(file, `${headLine}${headSha}\n`, { durable: false });
  } catch {
    return;
  }
  if (!unchanged) await removeOtherBodies(file, body).catch(() => {});
}

/** Bodies of the ledger `file` other than `body` (the last one, one a crash left), and the JSON ledger of format 1. */
async function removeOtherBodies(file: string, body: string): Promise<void> {
  const dir = path.dirname(file);
  const keep = path.basename(bodyFile(file, body));
  const stem = `${path.basename(file, '.ledger')}.`;
  for (const name of await readdir(dir))
    if (name.startsWith(stem) && name.endsWith('.body') && name !== keep)
      await rm(path.join(dir, name), { force: true });
  await rm(file.replace(/\.ledger$/, '.json'), { force: true });
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

/** A ledger's head and body, or undefined when absent, damaged or of another format. */
export function readLedger(file: string): LoadedLedger | undefined {
  try {
    const top = readFileSync(file);
    const nl = top.indexOf(10);
    if (nl < 0 || top.length !== nl + 66 || top[nl + 65] !== 10) return undefined;
    const headSha = createHash('sha256')
      .update(top.subarray(0, nl + 1))
      .digest('hex');
    if (headSha !== top.toString('latin1', nl + 1, nl + 65)) return undefined;
    const head = JSON.parse(top.toString('utf8', 0, nl)) as LedgerHead;
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
