/**
 * The transfer part of staging: fetches the chunks a release needs that this agent lacks, in
 * batches from the first source that works, each received chunk written where the staging
 * release wants it (staging-area.ts) or else kept in the pool; then counts what crossed the
 * network for this release.
 */
import type { ChunkSourceRef } from '../chunk-client.js';
import { ReceiverLoad } from '../receiver-load.js';
import type { ChunkId } from '../types.js';
import type { Encoding } from '../wire.js';
import type { BaseRange } from './base-trim.js';
import { batch, parallel, Turns } from './batching.js';
import type { ChunkIndex } from './chunk-index.js';
import type { StagedLoc } from './staging-area.js';

export interface FetchMissing {
  index: ChunkIndex;
  /** Every chunk of the release with its size. */
  all: Map<ChunkId, number>;
  /** Those this agent lacks, in manifest order. */
  missing: ChunkId[];
  sources: ChunkSourceRef[];
  maxChunk: number;
  /** New chunk -> chunks this agent may have at the same place before: fetched as a delta. */
  hints: Record<ChunkId, ChunkId[]>;
  /** The part of a hint's joined base to checksum (base-trim.ts); all of it where absent or null. */
  trims?: Map<ChunkId, BaseRange | null>;
  /** What the base reads of the batches after the first wait for (early-writes.ts `started`). */
  after?: Promise<void>;
  /** Synchronous where it can be (a small file's write): no promise per chunk then. */
  place: (id: ChunkId, data: Buffer) => StagedLoc | undefined | Promise<StagedLoc | undefined>;
  onChunk: (id: ChunkId, wireBytes: number) => void;
  /**
   * Whether a chunk placed in a staging file is also kept in memory (chunk-index.ts `keep`):
   * `always` where files written from their earlier version read it back, else only for a
   * relay's neighbours.
   */
  keep?: 'always' | 'neighbours';
}

/** Fetches `missing`; returns the failure, or undefined when every chunk arrived. */
export async function fetchMissing(o: FetchMissing): Promise<string | undefined> {
  // Batches of at most 4 MiB, four in flight: enough to fill a link without a huge request;
  // smaller transfers are cut in four so that decoding and writing overlap across streams.
  let missingBytes = 0;
  for (const c of o.missing) missingBytes += o.all.get(c) ?? 0;
  const cut = (bytes: number) => Math.max(256 * 1024, Math.min(4 * 1024 * 1024, bytes));
  // With deltas to ask for, the first batch is a sixteenth of the transfer and the other three
  // share the rest: a batch's bases are read and their checksums taken before its request leaves
  // (one batch after the other, Turns), and the origin has nothing to do until the first has.
  const deltas = o.missing.some((c) => o.hints[c] !== undefined);
  // Most of the release to fetch (a first deploy): compression adapted to the bottleneck; an
  // edit, where bytes are few, gets the tighter fixed level.
  let totalBytes = 0;
  for (const size of o.all.values()) totalBytes += size;
  const bulk = missingBytes * 2 > totalBytes;
  // A bulk transfer's first batch is at most 1 MiB: the request after it brings the origin this
  // agent's first load report (receiver-load.ts), and the origin adapts no level before that.
  const size = cut(missingBytes / 4);
  const first = deltas ? cut(missingBytes / 16) : bulk ? Math.min(size, 1024 * 1024) : size;
  const batches = batch(o.missing, o.all, deltas ? cut((missingBytes - first) / 3) : size, first);
  const turns = new Turns(o.after);
  const encoding: Encoding = bulk ? 'br-fast' : 'br';
  const load = bulk ? new ReceiverLoad() : undefined;
  // The first and what the three others leave over besides them (each closes past its size).
  return parallel(batches, deltas ? 5 : 4, async (ids) => {
    const bases = new Map<ChunkId, ChunkId[]>();
    for (const c of ids) {
      const b = o.hints[c];
      if (b?.every((x) => o.index.has(x))) bases.set(c, b);
    }
    const r = await o.index.ensure({
      ids,
      sources: o.sources,
      maxChunk: o.maxChunk,
      onChunk: o.onChunk,
      bases,
      trims: o.trims,
      encoding,
      load,
      place: o.place,
      turns,
      keep: o.keep,
    });
    return r.ok ? undefined : r.error;
  });
}

/**
 * Chunks of the release that crossed the network into this agent at or after `since`, including
 * those a neighbour's pull-through fetched first (this agent is then their relay).
 */
export function countReceived(
  index: ChunkIndex,
  all: Map<ChunkId, number>,
  since: number,
): { chunksFetched: number; bytesFetched: number } {
  let chunksFetched = 0;
  let bytesFetched = 0;
  for (const c of all.keys()) {
    const wire = index.received(c, since);
    if (wire === undefined) continue;
    chunksFetched++;
    bytesFetched += wire;
  }
  return { chunksFetched, bytesFetched };
}
