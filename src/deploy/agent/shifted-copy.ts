/**
 * A base copied moved (copies-ahead.ts Shift): a large file whose length changed, its earlier
 * version's bytes from `from` placed at `at` of a new file while the deployer still chunks
 * (copyShifted), and which of the new file's chunks that copy already holds at their place
 * (shiftedPlan), the rest written over it by file-from-base.ts.
 */
import { open, rm } from 'node:fs/promises';
import type { ManifestEntry } from '../manifest.js';
import type { ChunkId } from '../types.js';
import {
  ALIGNED_COPY_MIN,
  BLOCK,
  COPY_LANES,
  closeAligned,
  copiedNatively,
  openAligned,
  refused,
  writeAligned,
} from './aligned-writes.js';
import type { Shift } from './copies-ahead.js';
import { closeBase, openBase } from './direct-bases.js';
import type { BaseFile } from './file-from-base.js';

type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

/**
 * Writes a new file `dest` (which must not exist) whose bytes from `at` on are `src`'s from `from`
 * on, its first `at` bytes (at most `src`'s length) `src`'s first: a base copied ahead for a file
 * whose bytes moved (copies-ahead.ts), the head a stand-in that the staging writes over. With
 * direct writes from ALIGNED_COPY_MIN bytes on, as copyFileAligned (by the addon where it can);
 * else through the cache.
 */
export async function copyShifted(src: string, dest: string, at: number, from: number): Promise<void> {
  const bases = await openBase(src);
  try {
    const st = await bases.fh.stat();
    if (from > st.size || at > st.size) throw new RangeError(`a shift past the end of ${src}`);
    if (at + st.size - from >= ALIGNED_COPY_MIN && (await copiedNatively(bases, st, src, dest, at, from)))
      return;
    const e: FileEntry = {
      type: 'file',
      path: dest,
      mode: st.mode,
      size: at + st.size - from,
      chunks: [
        ['' as ChunkId, at],
        ['' as ChunkId, st.size - from],
      ],
    };
    const fh = await open(dest, 'wx', st.mode & 0o777);
    let whole = false;
    try {
      const out = e.size >= ALIGNED_COPY_MIN ? await openAligned(dest, src, COPY_LANES) : undefined;
      if (out) {
        try {
          await writeAligned(out, bases, e, [0, from], async () => undefined);
          whole = true;
        } catch (x) {
          // A direct write refused after all: through the cache below.
          if (!refused(x)) throw x;
          await fh.truncate(0);
        } finally {
          await closeAligned(out);
        }
      }
      // Through the cache, in blocks.
      const buf = whole ? undefined : Buffer.allocUnsafe(Math.min(BLOCK, Math.max(1, e.size)));
      if (buf) {
        for (const [to, pos, len] of [
          [0, 0, at],
          [at, from, st.size - from],
        ] as const) {
          for (let done = 0; done < len; ) {
            const n = Math.min(buf.length, len - done);
            const { bytesRead } = await bases.fh.read(buf, 0, n, pos + done);
            if (bytesRead !== n) throw new Error(`${src} came out shorter than it was`);
            for (let w = 0; w < n; ) w += (await fh.write(buf, w, n - w, to + done + w)).bytesWritten;
            done += n;
          }
        }
        await fh.truncate(e.size);
        whole = true;
      }
    } finally {
      await fh.close();
      if (!whole) await rm(dest, { force: true });
    }
  } finally {
    await closeBase(bases);
  }
}

/**
 * With the base copied ahead moved by `shift` (copies-ahead.ts): which new chunks are at their
 * place in that copy, and how many bytes they make. Chunk i at new offset o (length l) is iff the
 * base has a chunk of the same id and length at offset o - shift.at + shift.from (o >= shift.at),
 * or at offset o (o + l <= shift.at: the copy's head is the base's); every other byte of the copy
 * is written over.
 */
export function shiftedPlan(e: FileEntry, base: BaseFile, shift: Shift): { kept: boolean[]; bytes: number } {
  const at = new Map<number, [ChunkId, number]>();
  let o = 0;
  for (const c of base.chunks) {
    at.set(o, c);
    o += c[1];
  }
  const kept: boolean[] = [];
  let bytes = 0;
  o = 0;
  for (const [id, size] of e.chunks) {
    // Before `at`, the copy holds the base's own first bytes (copies-ahead.ts Shift).
    const was =
      o >= shift.at ? at.get(o - shift.at + shift.from) : o + size <= shift.at ? at.get(o) : undefined;
    const k = was !== undefined && was[0] === id && was[1] === size;
    kept.push(k);
    if (k) bytes += size;
    o += size;
  }
  return { kept, bytes };
}
