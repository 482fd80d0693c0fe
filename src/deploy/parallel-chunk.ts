/**
 * A large file chunked in segments at once (worker threads, cdc-pool.ts) and stitched into
 * exactly the chunk list one sequential FastCDC pass gives.
 *
 * Why it is exact: the cut from a position depends only on the bytes from there on (and on how
 * far the end of the file is; see rechunk.ts), so two chains of cuts that share one position
 * share every cut after it. Each segment is chunked from its start as if that were a boundary,
 * and a little past its end; the first segment starts at a true boundary (0). From the end of
 * the stitched (true) chain, when that offset is a cut of a later segment's chain, that chain is
 * the true one from there and is adopted; when it is not, this thread chunks on from there until
 * a cut lands on one (long runs of equal bytes, cut at `max`, can keep chains apart for a while).
 */
import { type FileHandle, open } from 'node:fs/promises';
import { err, ok, type Result } from '../util/result.js';
import type { SegmentRunner } from './cdc-pool.js';
import type { ChunkingParams } from './fastcdc.js';
import { type ChunkRun, chunkRun, OldChunks } from './rechunk.js';
import type { ChunkId } from './types.js';

export interface ParallelChunked {
  chunks: [ChunkId, number][];
  size: number;
  /** Chunks cut on this thread to stitch segments together. */
  stitched: number;
}

/** Where `segments` segments of equal size of a `size`-byte file start. */
export function segmentStarts(size: number, segments: number): number[] {
  const starts: number[] = [];
  for (let j = 0; j < segments; j++) starts.push(Math.floor((j * size) / segments));
  return starts;
}

/**
 * Chunks `file` (`size` bytes as listed) in segments starting at `starts` (the first at 0), run
 * by `run`, reusing `old` as rechunkFile does. A failed segment, or a file that changed while
 * read, is an error: the caller chunks sequentially instead. `buffer` (at least `2 * max` bytes) serves the stitching.
 */
export async function chunkParallel(
  file: string,
  size: number,
  old: readonly [ChunkId, number][] | undefined,
  params: ChunkingParams,
  run: SegmentRunner,
  starts: readonly number[],
  buffer: Buffer,
): Promise<Result<ParallelChunked, string>> {
  // Past its end, each segment runs on for this much, where its chain mostly meets the next's.
  const overlap = 16 * params.avg;
  const segments = starts.length;
  if (starts[0] !== 0 || starts.some((s, j) => j > 0 && s <= starts[j - 1]!))
    return err('bad segment starts');
  const answers = await Promise.all(
    starts.map((from, j) =>
      run({
        file,
        from,
        stop: j + 1 < segments ? starts[j + 1]! + overlap : Number.POSITIVE_INFINITY,
        old,
        params,
      }),
    ),
  );
  const runs: ChunkRun[] = [];
  for (const a of answers) {
    if (!a.ok) return err(a.error);
    runs.push(a.value);
  }
  const last = runs[runs.length - 1]!;
  const total = last.end;
  if (total !== size) return err(`${file} changed size while read`);
  // Where a chain's chunk starts: the segment and the chunk's index (a later segment wins).
  const at = new Map<number, [number, number]>();
  for (const [j, r] of runs.entries()) {
    if (r.from !== starts[j] || (r.eof && r.end !== total)) return err(`${file} changed while read`);
    let o = r.from;
    for (const [k, c] of r.chunks.entries()) {
      at.set(o, [j, k]);
      o += c[1];
    }
    if (o !== r.end) return err(`segment of ${file} at ${r.from} does not add up`);
  }
  const chunks: [ChunkId, number][] = [];
  let stitched = 0;
  let fh: FileHandle | undefined;
  let before: OldChunks | undefined;
  try {
    let p = 0;
    while (p < total) {
      const hit = at.get(p);
      if (hit) {
        const r = runs[hit[0]]!;
        for (let k = hit[1]; k < r.chunks.length; k++) chunks.push(r.chunks[k]!);
        p = r.end;
        continue;
      }
      fh ??= await open(file, 'r');
      if (old) before ??= new OldChunks(old);
      const more = await chunkRun(fh, p, (o) => at.has(o), before, params, buffer);
      if (more.chunks.length === 0 || (more.eof && more.end !== total))
        return err(`${file} changed while read`);
      for (const c of more.chunks) chunks.push(c);
      stitched += more.chunks.length;
      p = more.end;
    }
  } finally {
    await fh?.close();
  }
  return ok({ chunks, size: total, stitched });
}
