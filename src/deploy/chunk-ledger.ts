/**
 * The chunk ledger: for one artifact folder, each file's stat record (state/stat-record.ts) as of
 * the last deploy, and the manifest that deploy sent (whose chunk lists are the files' chunks). A
 * file whose record is unchanged and was not racy when taken (state/racy.ts) keeps its chunks
 * without being read again, so an unchanged artifact is re-examined with stats alone (the trick
 * the build cache plays with outputs). The manifest lets the next deploy send only a delta to an
 * agent that still runs it. The ledger is a cache: lost or damaged, the artifact is chunked again.
 *
 * The racy rule judges records against the filesystem's own clock when it can: before the walk,
 * the ledger writes a stamp file and notes the time the filesystem gave it; a file on the same
 * filesystem changed strictly before that stamp is settled, however recently (a file written a
 * second before a deploy is not chunked again by the next). Files on another filesystem, or
 * without a stamp, are judged by the wall clock with its two-second margin.
 *
 * File format: one line of JSON (format, root, chunking, stamp, release, the length of the
 * records), the stat records of the manifest's files in its order, then the manifest as JSON.
 */
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, type Stats } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from '../state/atomic-write.js';
import { type FsStamp, isRacy } from '../state/racy.js';
import { fsNow } from '../state/stat-record.js';
import type { ChunkingParams } from './fastcdc.js';
import type { Manifest } from './manifest.js';
import type { ChunkId, ReleaseId } from './types.js';

/** Bumped when the layout changes: a ledger of another format reads as empty. */
const FORMAT = 3;

/**
 * A file's record for the ledger: `size mtimeMs ctimeMs inode mode path\0`, from a plain lstat.
 * Not state/stat-record.ts's record (times to the nanosecond, from BigInt stats): a deploy takes
 * one per file of the artifact, and 20,000 BigInt stats with their dates are a third of an
 * unchanged redeploy's walk, most of it garbage. Milliseconds as doubles keep a quarter of a
 * microsecond, finer than the kernel's file times tick; a change so close to another that they
 * round alike is one made after the stamp that precedes the walk, so racy (lookup) either way.
 */
export function ledgerRecord(abs: string, st: Stats): string {
  return `${st.size} ${st.mtimeMs} ${st.ctimeMs} ${st.ino} ${st.mode.toString(16)} ${abs}\0`;
}

/**
 * Whether a ledger record's file changed too recently for the record to vouch for its content:
 * by the stamp of its own filesystem, its ctime not before the stamp (less a microsecond, for
 * the stamp's other rounding); else within two seconds of the wall clock (state/racy.ts).
 */
function racy(rec: string, now: number | FsStamp): boolean {
  const a = rec.indexOf(' ');
  const b = rec.indexOf(' ', a + 1);
  const c = rec.indexOf(' ', b + 1);
  if (a < 0 || b < 0 || c < 0) return true;
  const ctime = Number(rec.slice(b + 1, c));
  if (typeof now !== 'number') return !(ctime < now.ms - 0.001);
  const changed = Math.max(Number(rec.slice(a + 1, b)), ctime);
  return Number.isNaN(changed) || isRacy(changed, now);
}

interface Head {
  format: typeof FORMAT;
  root: string;
  chunking: ChunkingParams;
  /** The stamp written before the walk (undefined: the wall clock when it began, `at`). */
  stamp?: FsStamp;
  at: number;
  release: ReleaseId;
  records: number;
}

interface Loaded {
  head: Head;
  records: string;
  manifest: Manifest;
}

export class ChunkLedger {
  /** The last walk's files: path -> [its stat record, its chunks]. */
  readonly #old = new Map<string, [string, [ChunkId, number][]]>();
  /** When the last walk's stats were taken: its stamp, and the wall clock for other filesystems. */
  readonly #oldStamp: FsStamp | undefined;
  readonly #oldAt: number;
  #records: string[] = [];
  #at = Date.now();
  #stamp: FsStamp | undefined;
  readonly #last: { release: ReleaseId; manifest: Manifest } | undefined;

  private constructor(
    readonly file: string | undefined,
    readonly root: string,
    readonly chunking: ChunkingParams,
    loaded: Loaded | undefined,
  ) {
    this.#oldStamp = loaded?.head.stamp;
    this.#oldAt = loaded?.head.at ?? 0;
    if (!loaded) return;
    this.#last = { release: loaded.head.release, manifest: loaded.manifest };
    const { records } = loaded;
    let at = 0;
    for (const e of loaded.manifest.entries) {
      if (e.type !== 'file') continue;
      const end = records.indexOf('\0', at);
      if (end < 0) break;
      this.#old.set(e.path, [records.slice(at, end + 1), e.chunks]);
      at = end + 1;
    }
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
    this.#records = [];
    if (!this.file) return;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
    } catch {
      return;
    }
    this.#stamp = fsNow(path.join(path.dirname(this.file), '.stamp'));
  }

  /**
   * The recorded chunks of `rel` if its stat record is unchanged and was not racy when taken.
   * `dev`: the file's device, for judging it by the stamp only on the stamp's filesystem.
   */
  lookup(rel: string, record: string, dev: number): [ChunkId, number][] | undefined {
    const old = this.#old.get(rel);
    if (!old || old[0] !== record) return undefined;
    const stamp = this.#oldStamp;
    return racy(record, stamp?.dev === dev ? stamp : this.#oldAt) ? undefined : old[1];
  }

  /**
   * The chunks `rel` had at the last deploy whatever its stat now: a changed file's old chunk
   * list, for incremental chunking (rechunk.ts checks every chunk it takes from it).
   */
  previous(rel: string): [ChunkId, number][] | undefined {
    return this.#old.get(rel)?.[1];
  }

  /** Notes a file's stat record for the next deploy, in the order of the manifest's files. */
  record(record: string): void {
    this.#records.push(record);
  }

  /** The manifest of the previous walk of this folder, and its release id (absent on a first deploy). */
  get last(): { release: ReleaseId; manifest: Manifest } | undefined {
    return this.#last;
  }

  /** Remembers this walk's records and manifest for the next deploy; a no-op without a folder. */
  async save(last: { release: ReleaseId; manifest: Manifest }): Promise<void> {
    if (!this.file) return;
    const records = this.#records.join('');
    const head: Head = {
      format: FORMAT,
      root: this.root,
      chunking: this.chunking,
      ...(this.#stamp ? { stamp: this.#stamp } : {}),
      at: this.#at,
      release: last.release,
      records: records.length,
    };
    // Not durable: losing the ledger in a power cut costs one full chunking, nothing else.
    const text = `${JSON.stringify(head)}\n${records}${JSON.stringify(last.manifest)}`;
    await writeAtomic(this.file, text, { durable: false }).catch(() => {});
    // The JSON ledger of format 1 (before stat records) is dead once this one exists.
    await rm(this.file.replace(/\.ledger$/, '.json'), { force: true }).catch(() => {});
  }
}

/** A ledger file's content, or undefined when absent, damaged or of another format. */
function read(file: string): Loaded | undefined {
  try {
    const bytes = readFileSync(file);
    // Paths, hashes and JSON are almost always ASCII: then latin1 is the same text, decoded faster.
    const all = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
    const nl = all.indexOf('\n');
    const head = JSON.parse(all.slice(0, nl)) as Head;
    if (head.format !== FORMAT || typeof head.records !== 'number') return undefined;
    const records = all.slice(nl + 1, nl + 1 + head.records);
    const manifest = JSON.parse(all.slice(nl + 1 + head.records)) as Manifest;
    return { head, records, manifest };
  } catch {
    return undefined;
  }
}
