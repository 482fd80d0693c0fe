/**
 * Received chunks that are not yet part of a release, appended to pack files: one open file per
 * transfer instead of an open, write and close per chunk. A record is
 * `[32-byte SHA-256][u32 size][bytes]`; records are verified when a pack is scanned after a
 * restart, so a crash costs at most the records it tore (they are fetched again).
 */
import { randomBytes } from 'node:crypto';
import { readSync, writevSync } from 'node:fs';
import { type FileHandle, open, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { chunkIdOf } from '../fastcdc.js';
import type { ChunkId } from '../types.js';

export interface PackLoc {
  file: string;
  offset: number;
  size: number;
}

const HEAD = 36;
const MAX = 64 * 1024 * 1024;
/** Records up to this size are read synchronously. */
const SYNC_BYTES = 64 * 1024;
/**
 * Records up to this size are written synchronously. Not 64 KiB as reads: the pool takes the
 * chunks of files written from their earlier version (64 KiB on average for a large one), while
 * that file's base is copied and flushed beside them, and a write into the page cache then waits
 * for the disk to catch up (dirty-page throttling): on the 200 MB file's 10% edit a quarter of
 * the agent's main thread was spent blocked in these writes, the transfer's frames waiting.
 */
const SYNC_WRITE_BYTES = 8 * 1024;

export class PackPool {
  #current: { file: string; fh: FileHandle; pos: number } | undefined;
  #opening: Promise<{ file: string; fh: FileHandle; pos: number }> | undefined;
  /** Chunks each pack still holds that no release has yet. */
  readonly #live = new Map<string, Set<ChunkId>>();
  readonly #readers = new Map<string, Promise<FileHandle>>();
  /** Set by close: no pack is opened for writing again, nor a reader kept. */
  #closed = false;

  constructor(readonly dir: string) {}

  /** Scans existing packs (after a restart) and reports every intact chunk. */
  async load(found: (id: ChunkId, loc: PackLoc) => void): Promise<void> {
    for (const name of await readdir(this.dir)) {
      const file = path.join(this.dir, name);
      if (!/^pack-[0-9a-f]+\.bin$/.test(name)) {
        await rm(file, { recursive: true, force: true }); // leftovers of older layouts
        continue;
      }
      const live = new Set<ChunkId>();
      const fh = await open(file, 'r');
      try {
        const head = Buffer.alloc(HEAD);
        for (let pos = 0; ; ) {
          if ((await fh.read(head, 0, HEAD, pos)).bytesRead < HEAD) break;
          const size = head.readUInt32BE(32);
          if (size === 0 || size > MAX) break; // a hole left by a torn write: stop here
          const data = Buffer.allocUnsafe(size);
          if ((await fh.read(data, 0, size, pos + HEAD)).bytesRead < size) break;
          const id = head.toString('hex', 0, 32) as ChunkId;
          if (chunkIdOf(data) !== id) break;
          live.add(id);
          found(id, { file, offset: pos + HEAD, size });
          pos += HEAD + size;
        }
      } finally {
        await fh.close();
      }
      if (live.size) this.#live.set(file, live);
      else await rm(file, { force: true });
    }
  }

  /** Appends a chunk; positions are reserved up front, so concurrent appends do not wait. */
  async append(id: ChunkId, data: Buffer): Promise<PackLoc> {
    const cur = this.#current ?? (await this.#open());
    const pos = cur.pos;
    cur.pos += HEAD + data.length;
    // Marked live before the write, so settling another release cannot delete this pack under it.
    let live = this.#live.get(cur.file);
    if (!live) {
      live = new Set();
      this.#live.set(cur.file, live);
    }
    live.add(id);
    const head = Buffer.allocUnsafe(HEAD);
    head.write(id, 0, 32, 'hex');
    head.writeUInt32BE(data.length, 32);
    try {
      // Small records are written on the calling thread: a thread-pool round trip per record
      // costs more than the copy into the page cache (20,000 small files: 20,000 round trips).
      if (data.length <= SYNC_WRITE_BYTES) writevSync(cur.fh.fd, [head, data], pos);
      else await cur.fh.writev([head, data], pos);
    } catch (e) {
      live.delete(id);
      throw e;
    }
    return { file: cur.file, offset: pos + HEAD, size: data.length };
  }

  #open(): Promise<{ file: string; fh: FileHandle; pos: number }> {
    if (this.#closed) return Promise.reject(new Error('the pack pool is closed'));
    this.#opening ??= (async () => {
      const file = path.join(
        this.dir,
        `pack-${Date.now().toString(16)}${randomBytes(4).toString('hex')}.bin`,
      );
      try {
        const fh = await open(file, 'w+');
        if (this.#closed) {
          // Closed while this pack was being opened: nobody would close it.
          await fh.close();
          await rm(file, { force: true });
          throw new Error('the pack pool is closed');
        }
        this.#current = { file, fh, pos: 0 };
        return this.#current;
      } finally {
        // Also when the open failed: the next append tries again instead of failing for good.
        this.#opening = undefined;
      }
    })();
    return this.#opening;
  }

  async read(loc: PackLoc): Promise<Buffer | undefined> {
    // A pack no longer live (removed meanwhile, or the pool closed) is read through a handle of
    // this read's own: one kept in #readers would stay open with nobody left to close it.
    if (this.#closed || !this.#live.has(loc.file)) return readOnce(loc);
    let reader = this.#readers.get(loc.file);
    if (!reader) {
      reader = open(loc.file, 'r');
      this.#readers.set(loc.file, reader);
    }
    try {
      return await readAt(await reader, loc);
    } catch {
      // A failed open or read: the handle (if any) is closed and dropped, the next read opens the
      // file again; unless #remove or close took it first (they close it themselves).
      if (this.#readers.get(loc.file) === reader) {
        this.#readers.delete(loc.file);
        await reader.then((fh) => fh.close()).catch(() => {});
      }
      return undefined;
    }
  }

  /**
   * Closes the pack being written and every reader (when the agent shuts down). Appends fail
   * from now on; reads open and close a handle of their own.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const readers = [...this.#readers.values()];
    this.#readers.clear();
    // A pack being opened is closed by #open itself, which sees #closed.
    const cur = this.#current;
    this.#current = undefined;
    await Promise.allSettled([...readers.map((r) => r.then((fh) => fh.close())), cur?.fh.close()]);
  }

  /** Chunks still held by packs only. */
  get size(): number {
    let n = 0;
    for (const s of this.#live.values()) n += s.size;
    return n;
  }

  /** A release now holds `id`: the pack copy is no longer needed; empty packs are deleted. */
  async settled(ids: Iterable<{ id: ChunkId; file: string }>): Promise<void> {
    const touched = new Set<string>();
    for (const { id, file } of ids) {
      this.#live.get(file)?.delete(id);
      touched.add(file);
    }
    for (const file of touched) if (this.#live.get(file)?.size === 0) await this.#remove(file);
  }

  /** Deletes packs older than `maxAgeMs` (transfers nobody resumed); returns their chunks. */
  async expire(maxAgeMs: number): Promise<ChunkId[]> {
    const gone: ChunkId[] = [];
    const now = Date.now();
    for (const [file, live] of this.#live) {
      if (file === this.#current?.file) continue;
      const mtime = (await stat(file).catch(() => undefined))?.mtimeMs ?? 0;
      if (now - mtime < maxAgeMs) continue;
      gone.push(...live);
      await this.#remove(file);
    }
    return gone;
  }

  async #remove(file: string): Promise<void> {
    this.#live.delete(file);
    const reader = this.#readers.get(file);
    this.#readers.delete(file);
    await reader?.then((fh) => fh.close()).catch(() => {});
    if (this.#current?.file === file) {
      const cur = this.#current;
      this.#current = undefined;
      await cur.fh.close().catch(() => {});
    }
    await rm(file, { force: true });
  }
}

/** A record's bytes, or undefined when the pack is shorter than the record (torn or truncated). */
async function readAt(fh: FileHandle, loc: PackLoc): Promise<Buffer | undefined> {
  const buf = Buffer.allocUnsafe(loc.size);
  const bytesRead =
    loc.size <= SYNC_BYTES
      ? readSync(fh.fd, buf, 0, loc.size, loc.offset)
      : (await fh.read(buf, 0, loc.size, loc.offset)).bytesRead;
  return bytesRead === loc.size ? buf : undefined;
}

/** A record read through a handle opened and closed for this read alone. */
async function readOnce(loc: PackLoc): Promise<Buffer | undefined> {
  const fh = await open(loc.file, 'r').catch(() => undefined);
  if (!fh) return undefined;
  try {
    return await readAt(fh, loc);
  } catch {
    return undefined;
  } finally {
    await fh.close().catch(() => {});
  }
}
