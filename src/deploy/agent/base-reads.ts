/**
 * Delta bases read for a fetch (chunk-index.ts ensure): the chunks a changed chunk is asked for
 * as a delta against, read straight from the release or staging files the index says they are
 * in, on the calling thread and unverified (see readBase for why); what cannot be read that way
 * (a pool chunk, one held in memory) the index reads and verifies as any chunk.
 */
import path from 'node:path';
import type { ChunkId, ReleaseId } from '../types.js';
import type { BaseFiles } from './base-files.js';
import type { BaseRange } from './base-trim.js';
import type { Layout } from './layout.js';

/** What reading bases needs of the chunk index. */
export interface BaseSource {
  readonly layout: Layout;
  /** Where each chunk is: a pool record, or a place in a release's or a staging's file. */
  readonly where: ReadonlyMap<
    ChunkId,
    | { kind: 'pool'; size: number }
    | { kind: 'release' | 'staging'; release: ReleaseId; path: string; offset: number; size: number }
  >;
  /** Chunks held in memory (recent-chunks.ts). */
  readonly recent: { get(id: ChunkId): Buffer | undefined; has(id: ChunkId): boolean };
  /** A chunk's verified bytes, wherever it is (ChunkIndex.read). */
  read(id: ChunkId): Promise<Buffer | undefined>;
}

/**
 * A delta base from a release or staging file, read on the calling thread through `files`
 * (one descriptor per file for the whole request); undefined where that does not apply (a pool
 * chunk) or fails, for `read` to settle. A delta request reads dozens of chunks of one large
 * file: an open, a read and a close each through the thread pool cost more than the reads, and
 * kept the first request waiting (the 200 MB file's 10% edit: 0.4 s). Not verified: a base is
 * only what the checksums are taken of and the delta applied to, the same bytes both times
 * (held in memory between), and the rebuilt chunk is checked against its id. A file the app
 * changed costs a larger delta (its changed blocks match nothing), never a wrong chunk; the
 * SHA-256 of every base was a sixth of the agent's profile on the 200 MB file's 10% edit.
 */
function readBase(
  src: BaseSource,
  id: ChunkId,
  files: BaseFiles,
  into?: Buffer,
  skip = 0,
): Buffer | undefined {
  const recent = src.recent.get(id);
  if (recent) return recent;
  const w = src.where.get(id);
  if (!w || w.kind === 'pool') return undefined;
  const dir = w.kind === 'release' ? src.layout.release(w.release) : src.layout.stagingDir(w.release);
  return files.read(path.join(dir, w.path), w.offset + skip, into?.length ?? w.size, into);
}

/**
 * The joined bytes of a delta's base chunks (see readBase), or only `range` of them. Chunks in
 * release or staging files are read straight into one buffer of the size wanted, each only for
 * its part of the range: joining per-chunk reads made every base of two chunks twice (the 200 MB
 * file's 10% edit: ~50 MB of bases, half of them garbage as soon as made, and ~8 MB more of agent
 * peak RSS with four batches in flight).
 */
export async function baseOf(
  src: BaseSource,
  ids: ChunkId[],
  files: BaseFiles,
  range?: BaseRange,
): Promise<Buffer | undefined> {
  let total = 0;
  for (const x of ids) {
    const w = src.where.get(x);
    if (!w || w.kind === 'pool' || src.recent.has(x)) {
      total = -1;
      break;
    }
    total += w.size;
  }
  const from = range && range.to <= total ? range.from : 0;
  const to = range && range.to <= total ? range.to : total;
  if ((ids.length > 1 || to - from < total) && total > 0) {
    const joined = Buffer.allocUnsafe(to - from);
    let at = 0;
    let whole = true;
    for (const x of ids) {
      const size = src.where.get(x)!.size;
      const lo = Math.max(from, at);
      const hi = Math.min(to, at + size);
      if (lo < hi && !readBase(src, x, files, joined.subarray(lo - from, hi - from), lo - at)) {
        whole = false;
        break;
      }
      at += size;
    }
    if (whole) return joined;
  }
  const parts: Buffer[] = [];
  for (const x of ids) {
    const data = readBase(src, x, files) ?? (await src.read(x));
    if (!data) return undefined;
    parts.push(data);
  }
  const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return range && range.to <= all.length ? all.subarray(range.from, range.to) : all;
}

/**
 * The bytes baseOf gave for `ids` and `range`, read again from their release or staging files
 * into `into` (of their length), on the calling thread; undefined when one of them is not in a
 * file (a pool chunk, one held in memory) or cannot be read (held-bases.ts).
 */
export function baseAgain(
  src: BaseSource,
  ids: ChunkId[],
  files: BaseFiles,
  into: Buffer,
  range?: BaseRange,
): Buffer | undefined {
  let total = 0;
  for (const x of ids) {
    const w = src.where.get(x);
    if (!w || w.kind === 'pool' || src.recent.has(x)) return undefined;
    total += w.size;
  }
  const from = range && range.to <= total ? range.from : 0;
  const to = range && range.to <= total ? range.to : total;
  if (to - from !== into.length) return undefined;
  let at = 0;
  for (const x of ids) {
    const size = src.where.get(x)!.size;
    const lo = Math.max(from, at);
    const hi = Math.min(to, at + size);
    if (lo < hi && !readBase(src, x, files, into.subarray(lo - from, hi - from), lo - at)) return undefined;
    at += size;
  }
  return into;
}
