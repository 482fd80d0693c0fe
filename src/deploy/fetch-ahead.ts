/**
 * Fetches ahead of the stage request: while the walk chunks a large file again from its old chunk
 * list (rechunk.ts), the chunks it finds new are named to the agents (POST /v1/fetch-ahead) with
 * the old chunks that held the same bytes, as the stage request would name them (chunkBases in
 * manifest-delta.ts) and with the part of those worth checksumming (base-trim.ts); the origin,
 * started for it, serves them from here until the walk's index takes over. The agents fetch them
 * as deltas into their chunk pools while the walk goes on, and the stage request that follows
 * finds them there (or on their way) instead of asking for them after the walk.
 *
 * Before it, an edit of the bench's 200 MB file (1%: 164 changed chunks) waited for the whole
 * walk, then the agent's plan, then the deltas made one after the other on the deployer's thread:
 * ~230 ms after the ~180 ms walk, whose thread, waiting for reads, has time to spare for them.
 *
 * Nothing here is trusted: the agent checks every chunk against its id, a wrong base or range
 * costs a larger delta, and a chunk no release takes is dropped from its pool as any other.
 */
import { trimBases } from './agent/base-trim.js';
import type { ChunkLookup, ChunkSource } from './chunk-index.js';
import type { ChunkId } from './types.js';
import { MIN_DELTA_BASE } from './wire-delta.js';

/** What an agent is asked to fetch ahead (agent/server.ts POST /v1/fetch-ahead). */
export interface AheadHint {
  ids: ChunkId[];
  bases: Record<ChunkId, ChunkId[]>;
  /** [from, to) of each base's joined bytes worth checksumming (base-trim.ts). */
  trims: Record<ChunkId, [number, number]>;
}

/**
 * New chunks held back until this many (or AHEAD_MS since the last hint): a request per read of
 * the walk (2 MB) would cost the agent a fetch each, most with one chunk or none.
 */
const AHEAD_BATCH = 16;
const AHEAD_MS = 15;

/** One file's progress: its old list and where the next chunk to look at starts. */
interface Growing {
  path: string;
  full: string;
  old: readonly [ChunkId, number][];
  /** The old list's ids, and each old chunk's offset (the file's size last). */
  had: Set<ChunkId>;
  oldAt: Float64Array;
  /** The next chunk of the new list to look at, and its offset. */
  next: number;
  at: number;
  /** Index into `old` of the first chunk that may overlap `at` (chunkBases' walk). */
  j: number;
}

/** The chunks a walk found new so far, for the origin and the agents (see the file's comment). */
export class FetchAhead implements ChunkLookup {
  readonly #found = new Map<ChunkId, ChunkSource>();
  #walked: ChunkLookup | undefined;
  #file: Growing | undefined;
  /** Found and not yet named to the agents: ids, their bases. */
  #pending: ChunkId[] = [];
  #bases: Record<ChunkId, ChunkId[]> = {};
  #last = 0;
  #over = false;
  /** Chunks named to the agents so far. */
  named = 0;

  /** `send` names a batch to every agent (not awaited; a failure only loses the head start). */
  constructor(readonly send: (hint: AheadHint) => void) {}

  /** A chunk found new so far (the origin's lookup until the walk is over, then the walk's). */
  get(id: ChunkId): ChunkSource | undefined {
    return this.#walked?.get(id) ?? this.#found.get(id);
  }

  /** The walk is over: its index serves from now on, and nothing more is named. */
  walked(lookup: ChunkLookup): void {
    this.#walked = lookup;
    this.#over = true;
  }

  /**
   * The chunk list of file `path` (at `full`) so far, chunked again from `old` (artifact.ts
   * onRechunking). Chunks with a shared chunk after them are looked at (the range of a base is
   * known only between two chunks both lists share); new ones are named in batches.
   */
  grew(path: string, full: string, old: readonly [ChunkId, number][], chunks: readonly [ChunkId, number][]): void {
    if (this.#over) return;
    let f = this.#file;
    if (f?.path !== path) {
      if (f) this.#flush(f);
      const oldAt = new Float64Array(old.length + 1);
      for (let i = 0; i < old.length; i++) oldAt[i + 1] = oldAt[i]! + old[i]![1];
      f = { path, full, old, had: new Set(old.map((c) => c[0])), oldAt, next: 0, at: 0, j: 0 };
      this.#file = f;
    }
    // The last chunk both lists share: those after it wait for the next one.
    let upTo = chunks.length;
    while (upTo > f.next && !f.had.has(chunks[upTo - 1]![0])) upTo--;
    for (; f.next < upTo; f.next++) {
      const [id, size] = chunks[f.next]!;
      const at = f.at;
      f.at += size;
      if (f.had.has(id) || this.#found.has(id)) continue;
      this.#found.set(id, { file: full, offset: at, size });
      // The old chunks over the same bytes, as chunkBases picks them.
      const { old: was, oldAt } = f;
      while (f.j < was.length - 1 && oldAt[f.j + 1]! <= at) f.j++;
      const picked: ChunkId[] = [];
      let bytes = 0;
      for (let k = f.j; k < was.length && oldAt[k]! < at + size && picked.length < 8; k++) {
        picked.push(was[k]![0]);
        bytes += was[k]![1];
      }
      this.#pending.push(id);
      if (bytes >= MIN_DELTA_BASE) this.#bases[id] = picked;
    }
    if (
      this.#pending.length >= AHEAD_BATCH ||
      (this.#pending.length > 0 && performance.now() - this.#last >= AHEAD_MS)
    )
      this.#flush(f, chunks.slice(0, upTo));
  }

  /** Names the pending chunks; `chunks`: the list so far up to a shared chunk, for their ranges. */
  #flush(f: Growing, chunks?: readonly [ChunkId, number][]): void {
    if (!this.#pending.length) return;
    const ids = this.#pending;
    const bases = this.#bases;
    this.#pending = [];
    this.#bases = {};
    this.#last = performance.now();
    const trims: Record<ChunkId, [number, number]> = {};
    if (chunks && Object.keys(bases).length) {
      const ranges = new Map<ChunkId, { from: number; to: number } | null>();
      trimBases(chunks, f.old, bases, ranges);
      for (const [id, r] of ranges) if (r) trims[id] = [r.from, r.to];
    }
    this.named += ids.length;
    this.send({ ids, bases, trims });
  }
}
