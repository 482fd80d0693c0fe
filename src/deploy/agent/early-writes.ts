/**
 * Changed files written from their earlier version while the staging's chunks are still being
 * fetched (agent.ts): the kernel copies each base (a 200 MB file: a fifth of a second) beside the
 * transfer, and each fetched chunk is written in as soon as it has arrived (arrivals.ts). The
 * assembly awaits each file's promise instead of writing it again.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { ManifestEntry } from '../manifest.js';
import type { ChunkId, ReleaseId } from '../types.js';
import type { Arrivals } from './arrivals.js';
import type { AheadCopies } from './copies-ahead.js';
import { DirectFile } from './direct-file.js';
import type { BaseFile } from './file-from-base.js';
import { writeFromBaseFile } from './file-writes.js';
import type { StagedLoc } from './staging-area.js';

/** Files from this size on have their writing begun before the transfer's base reads (`started`). */
const AWAITED_START = 8 * 1024 * 1024;

/** Per path, its write: the size and mtime written, or undefined when the base shared nothing. */
type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

export type EarlyWrites = Map<string, Promise<[number, number] | undefined>>;

/**
 * Starts writing each of `based` into `dir` (the staging folder of `release`), its chunks taken
 * as they arrive: `place` writes a received chunk straight into the files open for it
 * (direct-file.ts), and `direct` lists those files. Never rejects unhandled.
 */
export function startEarlyWrites(o: {
  release: ReleaseId;
  dir: string;
  based: { e: FileEntry; base: BaseFile }[];
  arrivals: Arrivals;
  chunk: (c: ChunkId) => Promise<Buffer>;
  /** Copies of bases made ahead of this staging (copies-ahead.ts). */
  ahead?: AheadCopies;
}): {
  early: EarlyWrites;
  /**
   * Settles once every large file's writing has begun (its base's copy under way in the kernel):
   * the transfer's base reads and checksums past its small first batch, synchronous work on this
   * thread, wait for it (batching.ts Turns), or they held back the few steps that start a 200 MB
   * copy by 30-60 ms.
   */
  started: Promise<void>;
  direct: DirectFile[];
  place: (c: ChunkId, data: Buffer) => StagedLoc | undefined | Promise<StagedLoc | undefined>;
} {
  const early: EarlyWrites = new Map();
  const direct: DirectFile[] = [];
  const starts: Promise<unknown>[] = [];
  for (const { e, base } of o.based) {
    const dest = path.join(o.dir, e.path);
    const sink = new DirectFile(o.release, e, base.chunks);
    direct.push(sink);
    let onStart!: () => void;
    const start = new Promise<void>((r) => {
      onStart = r;
    });
    const write = (async () => {
      // What an earlier attempt at this staging left there (the area object outlives a failed
      // transfer, so its `fresh` does not say): a file of this release's own is made anew.
      await rm(dest, { recursive: true, force: true });
      return writeFromBaseFile({
        e,
        dest,
        base,
        chunk: async (c) => {
          await o.arrivals.wait(c);
          return sink.has(c) ? undefined : o.chunk(c);
        },
        direct: sink,
        sync: false,
        early: true,
        onStart,
        ahead: o.ahead,
      });
    })();
    // Awaited by the assembly, or settled by the caller when the transfer fails.
    write.catch(() => {});
    if (e.size >= AWAITED_START) starts.push(Promise.race([start, write.then(onStart, onStart)]));
    early.set(e.path, write);
  }
  // A chunk is written into the first open file that wants it: any other that wants it too
  // reads it back from there (through the index).
  const placeAsync = async (c: ChunkId, data: Buffer): Promise<StagedLoc | undefined> => {
    for (const d of direct) {
      const loc = await d.place(c, data);
      if (loc) return loc;
    }
    return undefined;
  };
  // Without such files (a first deploy), answered at once: no promise per chunk.
  const place = (c: ChunkId, data: Buffer) => (direct.length ? placeAsync(c, data) : undefined);
  return { early, started: Promise.all(starts).then(() => {}), direct, place };
}
