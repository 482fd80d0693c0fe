/**
 * The part of a delta's base worth checksumming. The deployer names as a new chunk's base every
 * old chunk of the file that overlaps its byte range (manifest-delta.ts chunkBases): on the
 * 200 MB file's edits 1.4-1.9x the new chunk's bytes, and the agent takes the block checksums of
 * all of them (its largest CPU on such an edit). The new chunk's bytes were, before the edit, at
 * its own offsets shifted by what the edits before it inserted or deleted. Between two chunks both
 * lists share, that shift goes from the one at the first to the one at the second, and the bytes
 * came from the gap between the two in the old file; so the old range that held them is the new
 * chunk's, widened by the two shifts, within that gap, and a margin on each side. Only the
 * agent's side changes: the checksums are of the trimmed bytes and the delta is applied to the
 * same bytes (the block size, derived from the base's length, travels in the request), so any
 * origin serves it. A wrong guess costs a larger delta, never a wrong chunk (its SHA-256 is
 * checked).
 */
import type { ChunkId } from '../types.js';
import { MIN_DELTA_BASE } from '../wire-delta.js';

/** Bytes `[from, to)` of a base's joined chunks. */
export interface BaseRange {
  from: number;
  to: number;
}

/**
 * Bytes kept on each side of the range the shifts give. Edits in place and one insertion or
 * deletion between two shared chunks need none; it covers edits that shift one way then back
 * between the same two shared chunks, and the blocks cut at the range's ends. Measured with
 * scripts/base-trim-margins.mjs on the deploy bench's 200 MB file (bytes checksummed per byte of
 * new chunks; bytes of checksums up and deltas down): 1% edit, untrimmed 1.40x and 2,356 KB,
 * margin 0 1.00x and 2,303 KB, 1 KiB 1.01x and 2,284, 4 KiB 1.04x and 2,305; 10%: 1.85x 20,092 KB,
 * 1.01x 19,960, 1.03x 19,918, 1.09x 19,979; 4 KB inserted at the start: 1.87x, then 0.95-1.00x,
 * 4-5 KB each; 40 insertions each followed by a deletion within 20 KB: 1.94x 187 KB, 1.01x 120,
 * 1.02x 104, 1.06x 117. Finer blocks over a smaller base find more of the old bytes.
 */
export const TRIM_MARGIN = 1024;

/**
 * For the new chunks of one file (`next`, its new chunk list) that have a base in `hints`, the
 * range of that base (a run of `old`, the file's chunk list in the release the base chunks are
 * in) to checksum, set in `out`; null where the whole base is used: a chunk found twice (in two
 * places, or files; its one base cannot be trimmed for both), a base that is not a run of `old`,
 * a range that would be all of it or under MIN_DELTA_BASE.
 */
export function trimBases(
  next: readonly [ChunkId, number][],
  old: readonly [ChunkId, number][],
  hints: Record<ChunkId, ChunkId[]>,
  out: Map<ChunkId, BaseRange | null>,
  margin = TRIM_MARGIN,
): void {
  const oldOffsets = offsets(old);
  const oldFirst = new Map<ChunkId, number>();
  for (let i = old.length - 1; i >= 0; i--) oldFirst.set(old[i]![0], i);
  const newOffsets = offsets(next);
  // Where each chunk of `next` was in `old` (its index), or -1: the chunks both lists share.
  const was = new Int32Array(next.length);
  for (let j = 0; j < next.length; j++) {
    const i = oldFirst.get(next[j]![0]);
    was[j] = i !== undefined && old[i]![1] === next[j]![1] ? i : -1;
  }
  // The shift (new offset - old offset) at the end of the last shared chunk before each chunk,
  // 0 at the start of the file; at the start of the first shared chunk after it, the difference
  // of the files' sizes at their end. And where those two were in `old`: the gap between them
  // held what the chunks of `next` between them came from.
  const before = new Float64Array(next.length);
  const gapStart = new Float64Array(next.length);
  let shift = 0;
  let edge = 0;
  for (let j = 0; j < next.length; j++) {
    before[j] = shift;
    gapStart[j] = edge;
    const i = was[j]!;
    if (i < 0) continue;
    shift = newOffsets[j + 1]! - oldOffsets[i + 1]!;
    edge = oldOffsets[i + 1]!;
  }
  const after = new Float64Array(next.length);
  const gapEnd = new Float64Array(next.length);
  shift = newOffsets[next.length]! - oldOffsets[old.length]!;
  edge = oldOffsets[old.length]!;
  for (let j = next.length - 1; j >= 0; j--) {
    after[j] = shift;
    gapEnd[j] = edge;
    const i = was[j]!;
    if (i < 0) continue;
    shift = newOffsets[j]! - oldOffsets[i]!;
    edge = oldOffsets[i]!;
  }
  const rangeOf = (j: number, base: ChunkId[]): BaseRange | null => {
    const k = oldFirst.get(base[0]!);
    if (k === undefined || !base.every((b, n) => old[k + n]?.[0] === b)) return null;
    const start = oldOffsets[k]!;
    const end = oldOffsets[k + base.length]!;
    const lo = Math.max(newOffsets[j]! - Math.max(before[j]!, after[j]!), gapStart[j]!) - margin;
    const hi = Math.min(newOffsets[j + 1]! - Math.min(before[j]!, after[j]!), gapEnd[j]!) + margin;
    const from = Math.max(lo, start) - start;
    const to = Math.min(hi, end) - start;
    return to - from < MIN_DELTA_BASE || (from === 0 && to === end - start) ? null : { from, to };
  };
  for (let j = 0; j < next.length; j++) {
    const id = next[j]![0];
    const base = hints[id];
    if (!base) continue;
    const range = rangeOf(j, base);
    out.set(id, out.has(id) ? null : range);
  }
}

/**
 * Each chunk's offset in its file, and the file's size last. Indexed, not destructured: this runs
 * once per deploy, cold, where an array pattern in a for-of costs an iterator per chunk.
 */
function offsets(chunks: readonly [ChunkId, number][]): Float64Array {
  const at = new Float64Array(chunks.length + 1);
  for (let i = 0; i < chunks.length; i++) at[i + 1] = at[i]! + chunks[i]![1];
  return at;
}
