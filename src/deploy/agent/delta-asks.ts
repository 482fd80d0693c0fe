/**
 * The chunk deltas a fetch asks for (chunk-index.ts ensure): for each chunk that has a base this
 * agent holds (a chunk much like it), the base is read (base-reads.ts) and its block checksums
 * go in the request (wire-delta.ts). The bases are read once for every source the fetch tries;
 * the files they are read from stay open until the deltas have come (held-bases.ts reads them
 * again then).
 */
import { trace } from '../../util/trace.js';
import type { ChunkId } from '../types.js';
import { type DeltaRequest, deltaRequest, MIN_DELTA_BASE } from '../wire-delta.js';
import { BaseFiles } from './base-files.js';
import { type BaseSource, baseOf } from './base-reads.js';
import type { BaseRange } from './base-trim.js';
import { type Turns, yieldToIo } from './batching.js';
import { HeldBases } from './held-bases.js';

export interface DeltaAsks {
  deltas: DeltaRequest[];
  /** The bases while their deltas are on the way. */
  held: HeldBases;
  /** The bases' files, open while a base is to be read again (held.readsAgain); the caller closes them. */
  files: BaseFiles;
}

/** The deltas for those of `ids` that `bases` gives a base for (and `trims` a part of it). */
export async function askDeltas(
  src: BaseSource,
  ids: ChunkId[],
  opts: {
    bases?: Map<ChunkId, ChunkId[]>;
    trims?: Map<ChunkId, BaseRange | null>;
    /** Shared by concurrent batches: their deltas are prepared one batch at a time (batching.ts). */
    turns?: Turns;
  },
): Promise<DeltaAsks> {
  const deltas: DeltaRequest[] = [];
  const files = new BaseFiles();
  const held = new HeldBases(src, files);
  // Taken now, in the callers' order; awaited only by a batch with bases to read.
  const turn = opts.bases?.size ? opts.turns?.take() : undefined;
  const release = await turn;
  try {
    // The requests of the batches before this one are on their way first.
    if (release) await yieldToIo();
    let since = performance.now();
    for (const id of ids) {
      const b = opts.bases?.get(id);
      if (!b) continue;
      const trim = opts.trims?.get(id) ?? undefined;
      const data = await baseOf(src, b, files, trim);
      if (!data || data.length < MIN_DELTA_BASE) continue;
      held.hold(id, b, trim, data);
      deltas.push(deltaRequest(id, b, data));
      // The reads are synchronous: every 4 ms, the frames of the batches in flight are taken.
      if (performance.now() - since > 4) {
        await yieldToIo();
        since = performance.now();
      }
    }
  } finally {
    // No base to read again (small ones only): its files are not needed any more.
    if (!held.readsAgain) files.close();
    release?.();
  }
  if (deltas.length) trace(`${deltas.length} chunk deltas asked`);
  return { deltas, held, files };
}
