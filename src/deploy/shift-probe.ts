/**
 * Where the bytes of a file whose length changed have moved, guessed before it is chunked: a
 * large file with bytes inserted or removed (the 200 MB file's 4 KB at its start) is written by
 * the agent from its earlier version, and with a shift known early the agent copies that version,
 * moved, while the deployer chunks the file (agent/copies-ahead.ts), as it does for an edit in
 * place. A guess only: the agent takes from the copy only the chunks its own list of the earlier
 * version finds at their place in it (agent/file-from-base.ts), so a wrong one costs a copy.
 *
 * The guess: the file's length changed by `delta`; if the old last chunk's bytes are found
 * `delta` bytes from where they were, the bytes moved by `delta` from some old chunk on. The first
 * such chunk is looked for by bisection (one edit: every chunk after it moved alike), a few reads
 * of a chunk each.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Shift } from './agent/copies-ahead.js';
import { chunkIdOf } from './fastcdc.js';
import type { ChunkId } from './types.js';

/**
 * The shift of the file at `file` (now `size` bytes) from its chunks `old` as last deployed: its
 * bytes from `at` on are predicted to be the old ones from `from` on. Undefined when the old last
 * chunk is not where a shift by the change of length puts it, or the file cannot be read.
 */
export async function probeShift(
  file: string,
  size: number,
  old: readonly [ChunkId, number][],
): Promise<Shift | undefined> {
  if (old.length === 0) return undefined;
  const offsets: number[] = [];
  let total = 0;
  for (const [, n] of old) {
    offsets.push(total);
    total += n;
  }
  const delta = size - total;
  if (delta === 0) return undefined;
  // As the walk reads (chunk-file.ts READ_FLAGS): never through a symlink put in the file's place.
  const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    () => undefined,
  );
  if (!fh) return undefined;
  try {
    let buf = Buffer.alloc(0);
    const moved = async (k: number): Promise<boolean> => {
      const [id, n] = old[k]!;
      const at = offsets[k]! + delta;
      if (at < 0 || at + n > size) return false;
      if (buf.length < n) buf = Buffer.allocUnsafe(n);
      const { bytesRead } = await fh.read(buf, 0, n, at);
      return bytesRead === n && chunkIdOf(buf.subarray(0, n)) === id;
    };
    let hi = old.length - 1;
    if (!(await moved(hi))) return undefined;
    // The first chunk moved by `delta`, every one after it taken to be (one edit).
    let lo = -1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (await moved(mid)) hi = mid;
      else lo = mid;
    }
    return { at: offsets[hi]! + delta, from: offsets[hi]! };
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
}
