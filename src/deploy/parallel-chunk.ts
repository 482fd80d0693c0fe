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
import { type FastHasher, fastHasher } from './fast-hash.js';
import type { ChunkingParams } from './fastcdc.js';
import { type ChunkRun, chunkRun, OldChunks } from './rechunk.js';
import type { ChunkId } from './types.js';

/** Past its end, each segment runs on for this many average chunks, where its chain mostly meets the next's. */
const OVERLAP = 4;

export interface ParallelChunked {
  chunks: [ChunkId, number][];
  size: number;
  /** Chunks cut on this thread to stitch segments together. */
  stitched: number;
  /** Segments each lane chunked, in the order of the lanes. */
  byLane: number[];
  /** Each chunk's fast hash, with a hasher. */
  fast?: Uint8Array[];
}

/** The fast hasher to take each chunk's fast hash with, and the old chunks' fast hashes if known. */
export interface FastOptions {
  hasher: FastHasher;
  old?: Uint8Array;
}

/**
 * Segment size: a sixteenth of the file, from 4 to 16 MiB. Small enough that a worker which is
 * ready only ~50 ms in (its start-up) still finds segments left, and that a late or slow thread
 * holds up the end little; large enough that the seams' extra work (the overlap, the first cuts
 * from a segment's start) stays around 1%.
 */
function segmentSize(size: number): number {
  return Math.min(16 * 1024 * 1024, Math.max(4 * 1024 * 1024, size / 16));
}

/** Where the segments of a `size`-byte file start: `segment` bytes each or so, at least two. */
export function segmentStarts(size: number, segment: number = segmentSize(size)): number[] {
  const count = Math.max(2, Math.round(size / segment));
  const starts: number[] = [];
  for (let j = 0; j < count; j++) starts.push(Math.floor((j * size) / count));
  return starts;
}

/**
 * A thread that chunks segments: this one, or a worker of the pool. A lane with `ready` takes
 * segments once it says true (a worker that has started), none if it says false.
 */
export interface Lane {
  run: SegmentRunner;
  ready?: Promise<boolean>;
}

/** This thread as a lane, chunking through `buffer` (at least `2 * max` bytes). */
export function thisThread(buffer: Buffer): Lane {
  // The old list indexed once for all the segments of a file.
  let last: { old: readonly [ChunkId, number][]; before: OldChunks } | undefined;
  return {
    run: async (task) => {
      const fh = await open(task.file, 'r');
      try {
        if (task.old && last?.old !== task.old)
          last = { old: task.old, before: new OldChunks(task.old, task.oldFast) };
        const before = task.old ? last?.before : undefined;
        const hasher = task.seed ? fastHasher(task.seed) : undefined;
        return ok(await chunkRun(fh, task.from, (o) => o >= task.stop, before, task.params, buffer, hasher));
      } finally {
        await fh.close();
      }
    },
  };
}

/**
 * Chunks `file` (`size` bytes as listed) in segments starting at `starts` (the first at 0), each
 * lane taking the next segment left when done with one, reusing `old` as rechunkFile does. A lane
 * whose segment fails hands it back and stops; when every lane has stopped, or the file changed
 * while read, the result is an error (the caller chunks sequentially instead). `buffer` (at least
 * `2 * max` bytes) serves the stitching. With `fast`, each chunk's fast hash is taken as well.
 */
export async function chunkParallel(
  file: string,
  size: number,
  old: readonly [ChunkId, number][] | undefined,
  params: ChunkingParams,
  lanes: readonly Lane[],
  starts: readonly number[],
  buffer: Buffer,
  fast?: FastOptions,
): Promise<Result<ParallelChunked, string>> {
  if (starts[0] !== 0 || starts.some((s, j) => j > 0 && s <= starts[j - 1]!))
    return err('bad segment starts');
  const answers = await runSegments(file, old, params, lanes, starts, fast);
  if (!answers.ok) return answers;
  const { runs, byLane } = answers.value;
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
    if (fast && r.fast?.length !== r.chunks.length)
      return err(`segment of ${file} at ${r.from} lacks fast hashes`);
  }
  const chunks: [ChunkId, number][] = [];
  const hashes: Uint8Array[] | undefined = fast ? [] : undefined;
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
        if (hashes) for (let k = hit[1]; k < r.chunks.length; k++) hashes.push(r.fast![k]!);
        p = r.end;
        continue;
      }
      fh ??= await open(file, 'r');
      if (old) before ??= new OldChunks(old, fast?.old);
      const more = await chunkRun(fh, p, (o) => at.has(o), before, params, buffer, fast?.hasher);
      if (more.chunks.length === 0 || (more.eof && more.end !== total))
        return err(`${file} changed while read`);
      for (const c of more.chunks) chunks.push(c);
      if (hashes) for (const h of more.fast ?? []) hashes.push(h);
      stitched += more.chunks.length;
      p = more.end;
    }
  } finally {
    await fh?.close();
  }
  return ok({ chunks, size: total, stitched, byLane, ...(hashes ? { fast: hashes } : {}) });
}

/** Every segment's chunk run, each run by the first lane free. */
function runSegments(
  file: string,
  old: readonly [ChunkId, number][] | undefined,
  params: ChunkingParams,
  lanes: readonly Lane[],
  starts: readonly number[],
  fast: FastOptions | undefined,
): Promise<Result<{ runs: ChunkRun[]; byLane: number[] }, string>> {
  const segments = starts.length;
  const overlap = OVERLAP * params.avg;
  const runs: ChunkRun[] = [];
  const byLane = lanes.map(() => 0);
  const left = starts.map((_, j) => j);
  let done = 0;
  let active = 0;
  let failure = 'no lane to chunk on';
  /** Lanes that stopped for want of segments (not failed): one takes up a segment handed back. */
  const idle: number[] = [];
  return new Promise((resolve) => {
    const lane = async (l: Lane, i: number) => {
      if (l.ready && !(await l.ready)) return;
      for (let j = left.shift(); j !== undefined; j = left.shift()) {
        const stop = j + 1 < segments ? starts[j + 1]! + overlap : Number.POSITIVE_INFINITY;
        const r = await l.run({
          file,
          from: starts[j]!,
          stop,
          old,
          params,
          ...(old && fast?.old ? { oldFast: fast.old } : {}),
          ...(fast ? { seed: fast.hasher.seed } : {}),
        });
        if (!r.ok) {
          left.unshift(j);
          failure = r.error;
          const k = idle.pop();
          if (k !== undefined) start(k);
          return;
        }
        runs[j] = r.value;
        byLane[i]!++;
        if (++done === segments) resolve(ok({ runs, byLane }));
      }
      idle.push(i);
    };
    const start = (i: number) => {
      active++;
      void lane(lanes[i]!, i)
        .catch((e: unknown) => {
          failure = e instanceof Error ? e.message : String(e);
        })
        .finally(() => {
          // The last lane gone with segments left (and none in flight: each lane holds one).
          if (--active === 0 && done < segments) resolve(err(failure));
        });
    };
    for (const i of lanes.keys()) start(i);
    if (lanes.length === 0) resolve(err(failure));
  });
}
