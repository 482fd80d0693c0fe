/**
 * Incremental chunking of a changed file whose chunks as of the last deploy are known (the chunk
 * ledger): where a chunk boundary of the new file lines up with an old chunk, that chunk's bytes
 * are hashed and compared with the old id instead of being scanned for a cut point. The result is
 * exactly what a full FastCDC pass gives (a unit test checks it on random edits), at the cost of
 * one hash alone over the unchanged parts (the fast hash where the ledger has the old chunks',
 * below; else SHA-256) instead of the gear scan and SHA-256.
 *
 * Why it is exact: from a boundary with at least `max` bytes after it (in the old file when the
 * old chunk was cut, and in the new file now), `cutLength` returns the first cut its scan finds,
 * which depends on the chunk's own bytes and nothing after them; equal bytes (equal SHA-256) from
 * a boundary therefore give the same cut. Closer than `max` to either end of file, the window
 * limits the scan, so such chunks are always cut by the scan. Every position tried is a true
 * boundary of the new file, as each step starts where the previous chunk ended.
 *
 * After an insertion or a deletion the old chunks sit at shifted offsets: once a scanned chunk's
 * id is an old chunk's, its successor in the old list is the next candidate.
 *
 * With a fast hasher (fast-hash.ts), each chunk's fast hash is taken too, for the ledger; and where
 * the old list has fast hashes, a candidate is confirmed by its fast hash instead of SHA-256 (equal
 * bytes, equal hash; see fast-hash.ts for why a collision need not be feared), SHA-256 then being
 * computed only for the chunks that changed.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { FAST_BYTES, type FastHasher, sameFast } from './fast-hash.js';
import { type ChunkingParams, chunkIdOf, chunkingBuffer, cutLength, DEFAULT_CHUNKING } from './fastcdc.js';
import { FileWindow } from './file-window.js';
import type { ChunkId } from './types.js';

export interface Rechunked {
  chunks: [ChunkId, number][];
  size: number;
  /** Chunks taken from the old list after a hash check, without a scan for their cut point. */
  reused: number;
  /** Each chunk's fast hash, with a hasher. */
  fast?: Uint8Array[];
}

/** The old chunk list, indexed by offset and by id. */
export class OldChunks {
  readonly offsets: number[] = [];
  readonly total: number;
  readonly #atOffset = new Map<number, number>();
  readonly #byId = new Map<ChunkId, number>();

  /** `fast`: the chunks' fast hashes one after the other (the ledger's), when it has them. */
  constructor(
    readonly list: readonly [ChunkId, number][],
    fast?: Uint8Array,
  ) {
    this.fast = fast?.length === list.length * FAST_BYTES ? fast : undefined;
    let o = 0;
    for (const [k, [id, size]] of list.entries()) {
      this.offsets.push(o);
      this.#atOffset.set(o, k);
      if (!this.#byId.has(id)) this.#byId.set(id, k);
      o += size;
    }
    this.total = o;
  }

  /** The chunks' fast hashes, one after the other (absent, or of another length: none). */
  readonly fast: Uint8Array | undefined;

  at(offset: number): number | undefined {
    return this.#atOffset.get(offset);
  }

  indexOf(id: ChunkId): number | undefined {
    return this.#byId.get(id);
  }
}

/** A run of consecutive chunks of a file, from `from` to `end`. */
export interface ChunkRun {
  from: number;
  chunks: [ChunkId, number][];
  end: number;
  /** Chunks taken from the old list after a hash check, without a scan for their cut point. */
  reused: number;
  /** The run ended at the end of the file. */
  eof: boolean;
  /** Each chunk's fast hash, with a hasher. */
  fast?: Uint8Array[];
}

/**
 * The chunks of the file open as `fh` from offset `from` on, cut as FastCDC cuts from a boundary
 * there (which `from` need not be: see parallel-chunk.ts), until a cut at an offset `done` says
 * yes to or the end of the file. With `old`, chunks proved unchanged are checked, not scanned.
 * `buffer` must hold at least `2 * max` bytes. With `hasher`, each chunk's fast hash is taken.
 */
export async function chunkRun(
  fh: FileHandle,
  from: number,
  done: (offset: number) => boolean,
  before: OldChunks | undefined,
  params: ChunkingParams,
  buffer: Buffer,
  hasher?: FastHasher,
): Promise<ChunkRun> {
  if (buffer.length < 2 * params.max) throw new RangeError('chunking needs a buffer of at least 2 * max');
  const old = before?.list ?? [];
  const oldFast = hasher ? before?.fast : undefined;
  const chunks: [ChunkId, number][] = [];
  const fast: Uint8Array[] | undefined = hasher ? [] : undefined;
  let pos = from;
  let reused = 0;
  const w = new FileWindow(fh, buffer, from, params.max);
  // The old chunk expected at the next boundary, and the shift of old offsets into new ones.
  let next: number | undefined = before?.at(from);
  let shift = 0;
  try {
    for (;;) {
      if (!w.eof && w.end - w.start < params.max) await w.fill();
      if (w.start >= w.end) break;
      while (w.end - w.start >= params.max || (w.eof && w.start < w.end)) {
        let n = 0;
        let id: ChunkId | undefined;
        let matched: number | undefined;
        // The old chunk's length and the SHA-256 of that many bytes here, when they differed from
        // its id: an edit inside a chunk mostly leaves its cut where it was (the cut depends on
        // the bytes just before it), and the scan's chunk is then these same bytes.
        let tried = 0;
        let triedId: ChunkId | undefined;
        let triedFast: Uint8Array | undefined;
        let f: Uint8Array | undefined;
        // At least `max` bytes ahead here (before w.end of file the buffer holds that many) and
        // where the old chunk was cut: see the file's comment.
        if (
          before &&
          next !== undefined &&
          next < old.length &&
          w.end - w.start >= params.max &&
          before.total - before.offsets[next]! >= params.max
        ) {
          const want = old[next]![1];
          // A damaged ledger could claim more than `max`; the buffer past `w.end` is stale.
          if (want <= w.end - w.start && oldFast) {
            const h = hasher!.of(buffer.subarray(w.start, w.start + want));
            if (sameFast(h, oldFast, next)) {
              n = want;
              id = old[next]![0];
              f = h;
              matched = next;
              reused++;
            } else {
              tried = want;
              triedFast = h;
            }
          } else if (want <= w.end - w.start) {
            const candidate = chunkIdOf(buffer.subarray(w.start, w.start + want));
            if (candidate === old[next]![0]) {
              n = want;
              id = candidate;
              matched = next;
              reused++;
            } else {
              tried = want;
              triedId = candidate;
            }
          }
        }
        if (!id) {
          n = cutLength(buffer, w.start, w.end, params);
          id = n === tried && triedId ? triedId : chunkIdOf(buffer.subarray(w.start, w.start + n));
          if (n === tried) f = triedFast;
          matched = before?.indexOf(id);
        }
        chunks.push([id, n]);
        if (fast) fast.push(f ?? hasher!.of(buffer.subarray(w.start, w.start + n)));
        w.start += n;
        pos += n;
        if (before) {
          if (matched !== undefined) {
            shift = pos - (before.offsets[matched]! + old[matched]![1]);
            next = matched + 1;
          } else {
            next = before.at(pos - shift) ?? before.at(pos);
          }
        }
        if (done(pos))
          return {
            from,
            chunks,
            end: pos,
            reused,
            eof: w.eof && w.start >= w.end,
            ...(fast ? { fast } : {}),
          };
      }
    }
    return { from, chunks, end: pos, reused, eof: true, ...(fast ? { fast } : {}) };
  } finally {
    // Reads ahead still in flight would write into the buffer once it serves the next run.
    await w.settle();
  }
}

/**
 * Chunk boundaries and ids of `file`, reusing `old` (its chunks when last chunked with the same
 * parameters) where the bytes prove them unchanged. `buffer` must hold at least `2 * max` bytes.
 * With `fast` (a hasher, and the old chunks' fast hashes if known), as chunkRun does with them.
 */
export async function rechunkFile(
  file: string,
  old: readonly [ChunkId, number][],
  params: ChunkingParams = DEFAULT_CHUNKING,
  buffer: Buffer = chunkingBuffer(Math.max(2 * 1024 * 1024, params.max * 4)),
  fast?: { hasher: FastHasher; old?: Uint8Array },
): Promise<Rechunked> {
  if (buffer.length < 2 * params.max) throw new RangeError('rechunkFile needs a buffer of at least 2 * max');
  const fh = await open(file, 'r');
  try {
    const before = new OldChunks(old, fast?.old);
    const run = await chunkRun(fh, 0, () => false, before, params, buffer, fast?.hasher);
    return { chunks: run.chunks, size: run.end, reused: run.reused, ...(run.fast ? { fast: run.fast } : {}) };
  } finally {
    await fh.close();
  }
}
