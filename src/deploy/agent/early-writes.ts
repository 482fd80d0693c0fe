/**
 * Changed files written from their earlier version while the staging's chunks are still being
 * fetched (agent.ts): the kernel copies each base (a 200 MB file: a fifth of a second) beside the
 * transfer, and each fetched chunk is written in as soon as it has arrived (arrivals.ts). The
 * assembly awaits each file's promise instead of writing it again.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { ManifestEntry } from '../manifest.js';
import type { ChunkId } from '../types.js';
import type { Arrivals } from './arrivals.js';
import type { BaseFile } from './file-from-base.js';
import { writeFromBaseFile } from './releases.js';

/** Per path, its write: the size and mtime written, or undefined when the base shared nothing. */
type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

export type EarlyWrites = Map<string, Promise<[number, number] | undefined>>;

/** Starts writing each of `based` into `dir`, its chunks taken as they arrive. Never rejects unhandled. */
export function startEarlyWrites(o: {
  dir: string;
  based: { e: FileEntry; base: BaseFile }[];
  arrivals: Arrivals;
  chunk: (c: ChunkId) => Promise<Buffer>;
}): EarlyWrites {
  const early: EarlyWrites = new Map();
  for (const { e, base } of o.based) {
    const dest = path.join(o.dir, e.path);
    const write = (async () => {
      // What an earlier attempt at this staging left there (the area object outlives a failed
      // transfer, so its `fresh` does not say): a file of this release's own is made anew.
      await rm(dest, { recursive: true, force: true });
      return writeFromBaseFile({
        e,
        dest,
        base,
        chunk: async (c) => o.chunk(await o.arrivals.wait(c)),
        sync: false,
        early: true,
      });
    })();
    // Awaited by the assembly, or settled by the caller when the transfer fails.
    write.catch(() => {});
    early.set(e.path, write);
  }
  return early;
}
