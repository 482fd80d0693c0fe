/**
 * The local content-addressed store under `.slipway/cache/entries`: one file per task hash,
 * written under a temporary name, flushed and renamed into place, verified on every read, evicted
 * least-recently-used first (a hit refreshes the entry's mtime).
 */
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fsyncPath } from '../state/atomic-write.js';
import { failpoint } from '../util/failpoint.js';
import { decodeEntry, type Entry } from './entry.js';

export type ReadOutcome =
  | { kind: 'hit'; entry: Entry; bytes: Buffer }
  | { kind: 'missing' }
  | { kind: 'damaged'; reason: string };

export interface StoredEntry {
  hash: string;
  size: number;
  /** Last write or hit, epoch ms. */
  usedAt: number;
}

/** An entry on its way to the disk. */
interface PendingWrite {
  bytes: Buffer;
  /** Removed meanwhile: do not rename it into place. */
  cancelled: boolean;
  done: Promise<void>;
}

export class LocalStore {
  readonly entries: string;
  readonly #tmp: string;
  /** Written, not yet durable and in place, by hash. */
  readonly #pending = new Map<string, PendingWrite>();
  /** Every write not finished yet, removed ones included (settle waits for their clean-up too). */
  readonly #inflight = new Set<Promise<void>>();
  readonly #failed: string[] = [];

  constructor(readonly dir: string) {
    this.entries = path.join(dir, 'entries');
    this.#tmp = path.join(dir, 'tmp');
  }

  entryPath(hash: string): string {
    return path.join(this.entries, hash.slice(0, 2), hash);
  }

  /** Reads and verifies an entry; a damaged one is reported, never returned. */
  read(hash: string): ReadOutcome {
    let bytes: Buffer;
    try {
      bytes = this.#pending.get(hash)?.bytes ?? readFileSync(this.entryPath(hash));
    } catch {
      return { kind: 'missing' };
    }
    const decoded = decodeEntry(bytes, hash);
    if (!decoded.ok) return { kind: 'damaged', reason: decoded.error };
    return { kind: 'hit', entry: decoded.value, bytes };
  }

  has(hash: string): boolean {
    if (this.#pending.has(hash)) return true;
    try {
      return statSync(this.entryPath(hash)).isFile();
    } catch {
      return false;
    }
  }

  /**
   * Stores verified entry bytes. A reader sees the old state or the whole new entry, and so does
   * a reader after a power loss: the data is flushed (fsync) before the rename (else the rename
   * may reach the disk first and leave an empty or partial entry under the final name), then
   * the folder holding the new name. The flushes run off the event loop, in parallel (the disk
   * merges them), so the event loop never waits for the disk: until the entry is in place,
   * `read` and `has` answer from memory. The promise settles once it is in place (or failed:
   * `settle()` lists failures); a run awaits it before it reports the task done, so a task
   * recorded as done after a crash always has its entry.
   */
  write(hash: string, bytes: Buffer): Promise<void> {
    mkdirSync(this.#tmp, { recursive: true });
    const tmp = path.join(this.#tmp, `${hash}.${process.pid}.${randomBytes(4).toString('hex')}`);
    writeFileSync(tmp, bytes);
    const write: PendingWrite = { bytes, cancelled: false, done: Promise.resolve() };
    write.done = this.#place(hash, tmp, write)
      .catch((e: unknown) => {
        this.#failed.push(`${hash.slice(0, 12)}: ${(e as Error).message}`);
        rmSync(tmp, { force: true });
      })
      .finally(() => {
        if (this.#pending.get(hash) === write) this.#pending.delete(hash);
        this.#inflight.delete(write.done);
      });
    this.#pending.set(hash, write);
    this.#inflight.add(write.done);
    return write.done;
  }

  /** fsync the temporary file, rename it into place, fsync the folders that changed. */
  async #place(hash: string, tmp: string, write: PendingWrite): Promise<void> {
    await fsyncPath(tmp);
    if (write.cancelled) {
      await rm(tmp, { force: true });
      return;
    }
    const final = this.entryPath(hash);
    const shard = path.dirname(final);
    const created = await mkdir(shard, { recursive: true });
    // A crash here leaves only a temp file (pruned later), never a half entry under its name.
    failpoint('cache-write');
    await rename(tmp, final);
    await fsyncDir(shard);
    // A folder made just now is itself a new name in its parent.
    if (created !== undefined) {
      const top = path.dirname(created);
      for (let d = path.dirname(shard); ; d = path.dirname(d)) {
        await fsyncDir(d);
        if (d === top || d === path.dirname(d)) break;
      }
    }
  }

  /**
   * Waits until every entry written so far is durable and in place; returns the ones that could
   * not be stored (a full disk, say), each as "hash: reason".
   */
  async settle(): Promise<string[]> {
    while (this.#inflight.size) await Promise.all([...this.#inflight]);
    return this.#failed.splice(0);
  }

  remove(hash: string): void {
    const pending = this.#pending.get(hash);
    if (pending) pending.cancelled = true;
    this.#pending.delete(hash);
    rmSync(this.entryPath(hash), { force: true });
  }

  /** Marks an entry as just used (LRU order). */
  touch(hash: string): void {
    const now = new Date();
    try {
      utimesSync(this.entryPath(hash), now, now);
    } catch {
      // Gone meanwhile (a concurrent prune): nothing to refresh.
    }
  }

  /** Every entry with its size and last use. */
  list(): StoredEntry[] {
    const out: StoredEntry[] = [];
    let shards: string[];
    try {
      shards = readdirSync(this.entries);
    } catch {
      return out;
    }
    for (const shard of shards) {
      let names: string[];
      try {
        names = readdirSync(path.join(this.entries, shard));
      } catch {
        continue;
      }
      for (const name of names) {
        try {
          const st = statSync(path.join(this.entries, shard, name));
          if (st.isFile()) out.push({ hash: name, size: st.size, usedAt: st.mtimeMs });
        } catch {
          // Removed between readdir and stat.
        }
      }
    }
    return out;
  }

  /** Removes least-recently-used entries until at most `maxBytes` remain (and stale temp files). */
  prune(
    maxBytes: number,
    olderThanMs?: number,
  ): { removed: number; bytes: number; kept: number; keptBytes: number } {
    this.#cleanTmp();
    const all = this.list().sort((a, b) => a.usedAt - b.usedAt);
    let total = all.reduce((s, e) => s + e.size, 0);
    let removed = 0;
    let bytes = 0;
    const cutoff = olderThanMs === undefined ? -Infinity : Date.now() - olderThanMs;
    for (const e of all) {
      if (total <= maxBytes && e.usedAt >= cutoff) break;
      try {
        unlinkSync(this.entryPath(e.hash));
      } catch {
        continue;
      }
      total -= e.size;
      removed++;
      bytes += e.size;
    }
    return { removed, bytes, kept: all.length - removed, keptBytes: total };
  }

  #cleanTmp(): void {
    let names: string[];
    try {
      names = readdirSync(this.#tmp);
    } catch {
      return;
    }
    const hourAgo = Date.now() - 3_600_000;
    for (const n of names) {
      const p = path.join(this.#tmp, n);
      try {
        // Only temp files nobody can still be writing: an interrupted write leaves one behind.
        if (statSync(p).mtimeMs < hourAgo) unlinkSync(p);
      } catch {
        // Already gone.
      }
    }
  }
}

/** A folder's names to the disk; where folders cannot be opened or flushed (Windows), the rename stands. */
async function fsyncDir(dir: string): Promise<void> {
  try {
    await fsyncPath(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw e;
  }
}
