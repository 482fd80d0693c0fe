/**
 * A large file of an artifact chunked (artifact.ts hands over each file past WHOLE): in segments
 * on worker threads beside this one when it is large enough and a core is free, else on this
 * thread; a file chunked before is confirmed against its old chunk list (rechunk.ts).
 */
import os from 'node:os';
import { trace } from '../util/trace.js';
import type { CdcPool } from './cdc-pool.js';
import { chunkFile } from './chunk-file.js';
import type { ChunkLedger } from './chunk-ledger.js';
import type { FastHasher } from './fast-hash.js';
import { type ChunkingParams, chunkingBuffer } from './fastcdc.js';
import { chunkParallel, type FastOptions, segmentStarts, thisThread } from './parallel-chunk.js';
import { rechunkFile } from './rechunk.js';
import type { ChunkId } from './types.js';

/** A file of the artifact to chunk: where it is, its path in the manifest and its size listed. */
export interface LargeFile {
  full: string;
  relPath: string;
  size: number;
}

/**
 * Files from this size on are chunked in segments at once, here and on worker threads
 * (parallel-chunk.ts), where the machine has more than one core. A worker is ready ~40-50 ms
 * after it is started (measured) and costs ~100-150 ms of CPU in all (start-up, a cold isolate);
 * this thread chunked ~2.3 ms/MB on a first deploy, so below ~64 MB it would have done most of
 * the file before a worker could help. Since the gear scan runs as WebAssembly and reads go
 * ahead (gear-scan.ts, file-window.ts) it chunks ~1.2 ms/MB (200 MB: ~235 ms, about half of
 * it SHA-256): the break-even is likely higher now, not measured yet on a quiet machine.
 */
export const PARALLEL_MIN = 64 * 1024 * 1024;

/**
 * The same for a file chunked again from its old chunk list (rechunk.ts), which costs about half
 * as much per byte (SHA-256 alone where unchanged): measured on a 200 MB file edited (A/B on a
 * loaded 2-core machine), segments on a worker made the walk slower (250-320 -> 440-620 ms) for
 * ~+150-200 ms of CPU, so only files well past that size are worth it. Since unchanged chunks are
 * confirmed by their fast hash (fast-hash.ts, a fifth of SHA-256's CPU) a worker's start-up
 * weighs even more: not measured again.
 */
export const PARALLEL_RECHUNK_MIN = 256 * 1024 * 1024;

/** Worker threads for parallel chunking, beside this one: one per other core, a few at most. */
export const THREADS = Math.min(os.availableParallelism() - 1, 3);

/**
 * Whether a chunking worker would find a core to run on: not when the load average of the last
 * minute is twice the cores or more (a machine that busy is oversubscribed, not just working; a
 * deploy on a quiet one, its own processes included, stays well under). On this shared two-core
 * machine at a load of 6-10 (other deploys and test runs), a worker took a third of the 200 MB
 * file's segments for ~+50 ms of CPU and made the walk slower, not faster (median wall 255 ->
 * 315 ms, four runs each).
 */
export function coresToSpare(): boolean {
  const load = os.loadavg()[0] ?? 0;
  if (load < 2 * os.availableParallelism()) return true;
  trace(`chunking on this thread alone: load average ${load.toFixed(1)}`);
  return false;
}

/** Whether a file is worth chunking in segments (with its old chunk list, if any). */
export function inSegments(f: LargeFile, ledger: ChunkLedger | undefined): boolean {
  return f.size >= (ledger?.previous(f.relPath)?.length ? PARALLEL_RECHUNK_MIN : PARALLEL_MIN);
}

/** The buffer large files are chunked through, for `chunkLarge`'s `buffer`. */
export function largeBuffer(params: ChunkingParams): Buffer {
  return chunkingBuffer(Math.max(2 * 1024 * 1024, params.max * 4));
}

/**
 * A large file's chunks: in segments by the pool's workers, or on this thread. With `hasher`,
 * their fast hashes too, for the ledger; its unchanged chunks are then confirmed by them where
 * the ledger has the old ones' (rechunk.ts). `onChunking` hears its chunk list as it grows when
 * it is chunked afresh on this thread.
 */
export async function chunkLarge(
  f: LargeFile,
  pool: CdcPool | undefined,
  c: {
    params: ChunkingParams;
    buffer: Buffer;
    ledger?: ChunkLedger | undefined;
    hasher?: FastHasher | undefined;
    onChunking?: ((chunks: readonly [ChunkId, number][]) => void) | undefined;
  },
): Promise<{ chunks: [ChunkId, number][]; size: number; fast?: Uint8Array[] }> {
  const { params, buffer, ledger, hasher } = c;
  // A large file chunked before: its unchanged chunks are checked, not scanned again.
  const before = ledger?.previous(f.relPath);
  const oldFast = before?.length ? ledger?.previousFast(f.relPath) : undefined;
  const fast: FastOptions | undefined = hasher ? { hasher, ...(oldFast ? { old: oldFast } : {}) } : undefined;
  if (pool && inSegments(f, ledger) && !pool.failed) {
    const starts = segmentStarts(f.size);
    const ready = pool.ready();
    const lanes = [
      thisThread(buffer),
      ...Array.from({ length: pool.threads }, () => ({ run: pool.run, ready })),
    ];
    const r = await chunkParallel(
      f.full,
      f.size,
      before?.length ? before : undefined,
      params,
      lanes,
      starts,
      buffer,
      fast,
    );
    if (pool.failed) trace(`chunking workers failed: ${pool.failed}`);
    if (r.ok) {
      const [here = 0, ...workers] = r.value.byLane;
      const there = workers.reduce((a, b) => a + b, 0);
      trace(
        `chunked ${f.relPath} in ${starts.length} segments (${here} here, ${there} on workers; ${r.value.stitched} chunks stitched)`,
      );
      return r.value;
    }
    trace(`chunking ${f.relPath} in segments failed (${r.error}): on this thread instead`);
  }
  return before?.length
    ? await rechunkFile(f.full, before, params, buffer, fast)
    : await chunkFile(f.full, params, buffer, hasher, c.onChunking);
}
