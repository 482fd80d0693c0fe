/**
 * The local content-addressed store under `.slipway/cache/entries`: one file per task hash,
 * written under a temporary name and renamed into place, verified on every read, evicted
 * least-recently-used first (a hit refreshes the entry's mtime).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
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

export class LocalStore {
  readonly entries: string;
  readonly #tmp: string;

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
      bytes = readFileSync(this.entryPath(hash));
    } catch {
      return { kind: 'missing' };
    }
    const decoded = decodeEntry(bytes, hash);
    if (!decoded.ok) return { kind: 'damaged', reason: decoded.error };
    return { kind: 'hit', entry: decoded.value, bytes };
  }

  has(hash: string): boolean {
    try {
      return statSync(this.entryPath(hash)).isFile();
    } catch {
      return false;
    }
  }

  /**
   * Stores verified entry bytes; a reader sees the old state or the whole new file, and so does
   * a reader after a power loss: the data is flushed before the rename (else the rename may reach
   * the disk first and leave an empty or partial entry under the final name), then the folder
   * holding the new name, and the parents of any folder this call created.
   */
  write(hash: string, bytes: Buffer): void {
    mkdirSync(this.#tmp, { recursive: true });
    const final = this.entryPath(hash);
    const shard = path.dirname(final);
    const created = mkdirSync(shard, { recursive: true });
    const tmp = path.join(this.#tmp, `${hash}.${process.pid}.${randomBytes(4).toString('hex')}`);
    const fd = openSync(tmp, 'w');
    try {
      writeFileSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, final);
    fsyncDir(shard);
    if (created !== undefined) {
      const top = path.dirname(created);
      for (let d = path.dirname(shard); ; d = path.dirname(d)) {
        fsyncDir(d);
        if (d === top || d === path.dirname(d)) break;
      }
    }
  }

  remove(hash: string): void {
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

/** Flushes a folder's entries (a rename into it) to disk. */
function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
