/**
 * The chunk ledger: for one artifact folder, each file's stat signature (size, mtime, ctime,
 * inode) and chunk list as of the last deploy, plus the manifest that deploy sent. A file whose
 * signature is unchanged and was not racy when recorded (state/racy.ts) keeps its chunks without
 * being read again, so an unchanged artifact is re-examined with stats alone (the trick the build
 * cache plays with outputs). The manifest lets the next deploy send only a delta to an agent that
 * still runs it. The ledger is a cache: lost or damaged, the artifact is simply chunked again.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from '../state/atomic-write.js';
import { isRacy } from '../state/racy.js';
import type { ChunkingParams } from './fastcdc.js';
import type { Manifest } from './manifest.js';
import type { ChunkId, ReleaseId } from './types.js';

/** What a file's stat must still say for its recorded chunks to be trusted. */
export interface StatSignature {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

type Row = [size: number, mtimeMs: number, ctimeMs: number, ino: number];

interface LedgerFile {
  format: 1;
  root: string;
  chunking: ChunkingParams;
  /** When the stats were taken (epoch ms): the racy rule compares file times with it. */
  at: number;
  files: Record<string, Row>;
  /** The manifest of that walk (its chunk lists are the files' chunks), and its release id. */
  last: { release: ReleaseId; manifest: Manifest };
}

export class ChunkLedger {
  readonly #old: Map<string, Row>;
  readonly #oldAt: number;
  readonly #oldChunks = new Map<string, [ChunkId, number][]>();
  readonly #next = new Map<string, Row>();
  #at = Date.now();
  #last: LedgerFile['last'] | undefined;

  private constructor(
    readonly file: string | undefined,
    readonly root: string,
    readonly chunking: ChunkingParams,
    loaded: LedgerFile | undefined,
  ) {
    this.#old = new Map(loaded ? Object.entries(loaded.files) : []);
    this.#oldAt = loaded?.at ?? 0;
    this.#last = loaded?.last;
    for (const e of loaded?.last.manifest.entries ?? [])
      if (e.type === 'file') this.#oldChunks.set(e.path, e.chunks);
  }

  /** The ledger of `root` kept in `dir` (one file per folder and chunking); empty when absent or unreadable. */
  static async open(dir: string | undefined, root: string, chunking: ChunkingParams): Promise<ChunkLedger> {
    if (!dir) return new ChunkLedger(undefined, root, chunking, undefined);
    const key = createHash('sha256')
      .update(`${path.resolve(root)}\0${JSON.stringify(chunking)}`)
      .digest('hex');
    const file = path.join(dir, `${key.slice(0, 24)}.json`);
    let loaded: LedgerFile | undefined;
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as LedgerFile;
      const sameParams = JSON.stringify(parsed.chunking) === JSON.stringify(chunking);
      if (parsed.format === 1 && parsed.root === path.resolve(root) && sameParams) loaded = parsed;
    } catch {
      loaded = undefined;
    }
    return new ChunkLedger(file, path.resolve(root), chunking, loaded);
  }

  /** Marks the moment stats are taken for this deploy (before the walk). */
  begin(): void {
    this.#at = Date.now();
  }

  /** The recorded chunks of `rel` if its stat still matches and was not racy when recorded. */
  lookup(rel: string, st: StatSignature): [ChunkId, number][] | undefined {
    const row = this.#old.get(rel);
    if (!row) return undefined;
    if (row[0] !== st.size || row[1] !== st.mtimeMs || row[2] !== st.ctimeMs || row[3] !== st.ino)
      return undefined;
    // Modified within the racy window before it was recorded: a same-size edit in the same
    // timestamp tick would not have moved its mtime (git's rule, on mtime as git applies it;
    // the ctime still has to match exactly, which catches an mtime put back with utimes).
    if (isRacy(row[1], this.#oldAt)) return undefined;
    return this.#oldChunks.get(rel);
  }

  /** Notes a file's stat for the next deploy (its chunks are the manifest's). */
  record(rel: string, st: StatSignature): void {
    this.#next.set(rel, [st.size, st.mtimeMs, st.ctimeMs, st.ino]);
  }

  /** The manifest of the previous walk of this folder, and its release id (absent on a first deploy). */
  get last(): LedgerFile['last'] | undefined {
    return this.#last;
  }

  /** Remembers this walk's stats and manifest for the next deploy; a no-op without a folder. */
  async save(last: { release: ReleaseId; manifest: Manifest }): Promise<void> {
    if (!this.file) return;
    await mkdir(path.dirname(this.file), { recursive: true }).catch(() => {});
    const out: LedgerFile = {
      format: 1,
      root: this.root,
      chunking: this.chunking,
      at: this.#at,
      files: Object.fromEntries(this.#next),
      last,
    };
    // Not durable: losing the ledger in a power cut costs one full chunking, nothing else.
    await writeAtomic(this.file, JSON.stringify(out), { durable: false }).catch(() => {});
  }
}
