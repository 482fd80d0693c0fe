/**
 * Which chunks this agent has and where: inside the files of a release being staged (written
 * there straight from the network, staging-area.ts), in the pool (received for no file being
 * staged: a relay's pull-through, a chunk an earlier version of a file is patched with) or
 * inside the files of a kept release. Reads from files verify the SHA-256, so a file the app
 * changed in place is noticed and the chunk fetched again instead of spreading the change (delta
 * bases aside, whose changes cannot spread: see base-reads.ts).
 */
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { type ChunkSourceRef, fetchChunks } from '../chunk-client.js';
import { chunkIdOf } from '../fastcdc.js';
import type { Manifest } from '../manifest.js';
import type { ReceiverLoad } from '../receiver-load.js';
import type { ChunkId, ReleaseId } from '../types.js';
import type { Encoding } from '../wire.js';
import type { BaseSource } from './base-reads.js';
import type { BaseRange } from './base-trim.js';
import type { Turns } from './batching.js';
import { askDeltas } from './delta-asks.js';
import { InFlight } from './in-flight.js';
import type { Layout } from './layout.js';
import { type PackLoc, PackPool } from './pack-pool.js';
import { RecentChunks } from './recent-chunks.js';
import type { StagedLoc } from './staging-area.js';

type Where = ({ kind: 'pool' } & PackLoc) | ({ kind: 'release' | 'staging' } & StagedLoc);

export class ChunkIndex {
  readonly #where = new Map<ChunkId, Where>();
  /** Chunks being fetched, each by the transfer that asked first (in-flight.ts). */
  readonly #inflight = new Map<ChunkId, InFlight>();
  /** Chunks received recently, kept in memory for the assembly that follows (verified already). */
  readonly #recent = new RecentChunks();
  /** Bytes each received chunk took on the wire, whoever asked for it (a relay's own stage or a neighbour). */
  readonly #wire = new Map<ChunkId, { bytes: number; at: number }>();
  readonly #pool: PackPool;
  /** What delta bases are read through (base-reads.ts). */
  readonly #bases: BaseSource;

  constructor(readonly layout: Layout) {
    this.#pool = new PackPool(layout.pool);
    this.#bases = { layout, where: this.#where, recent: this.#recent, read: (id) => this.read(id) };
  }

  /** Loads the pool (chunks of unfinished transfers); releases are added with addRelease. */
  async load(): Promise<void> {
    await mkdir(this.layout.pool, { recursive: true });
    await this.#pool.load((id, loc) => this.#where.set(id, { kind: 'pool', ...loc }));
  }

  /** Chunks received that are in no kept release yet (in the pool or a staging folder). */
  get pooled(): number {
    let staged = 0;
    for (const w of this.#where.values()) if (w.kind === 'staging') staged++;
    return this.#pool.size + staged;
  }

  /** A chunk found intact in a staging folder (a restart's scan). */
  addStaged(id: ChunkId, loc: StagedLoc): void {
    if (!this.#where.has(id)) this.#where.set(id, { kind: 'staging', ...loc });
  }

  /** Forgets chunks placed in a staging file that is to be written anew (a failed attempt's). */
  forgetStaged(ids: Iterable<ChunkId>): void {
    for (const id of ids) if (this.#where.get(id)?.kind === 'staging') this.#where.delete(id);
  }

  /** Points the chunks found in staging folder `from` at `to`, which it was renamed (a streamed stage's). */
  moveStaging(from: string, to: ReleaseId): void {
    for (const w of this.#where.values()) if (w.kind === 'staging' && w.release === from) w.release = to;
  }

  /** Forgets the chunks of an abandoned staging folder. */
  dropStaging(id: ReleaseId): void {
    for (const [chunk, w] of this.#where)
      if (w.kind === 'staging' && w.release === id) this.#where.delete(chunk);
  }

  addRelease(id: ReleaseId, m: Manifest): void {
    for (const e of m.entries) {
      if (e.type !== 'file') continue;
      let offset = 0;
      // Index loop, no destructuring: no iterator per chunk where this runs unoptimized (chunksOf).
      for (let j = 0; j < e.chunks.length; j++) {
        const chunk = e.chunks[j]![0];
        const size = e.chunks[j]![1];
        if (!this.#where.has(chunk))
          this.#where.set(chunk, { kind: 'release', release: id, path: e.path, offset, size });
        offset += size;
      }
    }
  }

  /**
   * After assembly: the release now holds these chunks, so point the index at it and delete the
   * pool copies (a pool holds only transfers still in progress or interrupted).
   */
  async settleRelease(id: ReleaseId, m: Manifest): Promise<void> {
    const pooled: { id: ChunkId; file: string }[] = [];
    const moved: ChunkId[] = [];
    for (const e of m.entries) {
      if (e.type !== 'file') continue;
      let offset = 0;
      for (let j = 0; j < e.chunks.length; j++) {
        const chunk = e.chunks[j]![0];
        const size = e.chunks[j]![1];
        const w = this.#where.get(chunk);
        if (w?.kind === 'pool') pooled.push({ id: chunk, file: w.file });
        if (w?.kind === 'staging' && w.release === id && w.path === e.path && w.offset === offset) {
          // Placed in this staging's folder, now `releases/<id>` (same paths): the same place,
          // now a release's, in place (a new object each was 20,000 after a first deploy's last byte).
          w.kind = 'release';
          moved.push(chunk);
        } else if (w?.kind === 'release') {
          // Re-pointed at the newest release, in place: pruning the oldest then forgets only the
          // chunks no later release has, instead of nearly every chunk to be re-added as a new
          // object (20,000 a deploy of the 20,000-file shape, and the collections they cost).
          w.release = id;
          w.path = e.path;
          w.offset = offset;
          w.size = size;
        } else {
          // Pool copies and this staging's folder (now `releases/<id>`, same paths) alike.
          this.#where.set(chunk, { kind: 'release', release: id, path: e.path, offset, size });
          moved.push(chunk);
        }
        offset += size;
      }
    }
    for (const chunk of moved) {
      this.#wire.delete(chunk);
      this.#recent.drop(chunk);
    }
    await this.#pool.settled(pooled);
  }

  /** Forgets a pruned release's chunks (other kept releases may still have them: re-add those). */
  dropRelease(id: ReleaseId): void {
    for (const [chunk, w] of this.#where)
      if (w.kind === 'release' && w.release === id) this.#where.delete(chunk);
  }

  /** Wire bytes of a chunk this agent received at or after `since` (epoch ms), else undefined. */
  received(id: ChunkId, since: number): number | undefined {
    const w = this.#wire.get(id);
    return w && w.at >= since ? w.bytes : undefined;
  }

  /** Records the wire size of a chunk pushed by the deployer. */
  noteWire(id: ChunkId, bytes: number): void {
    this.#wire.set(id, { bytes, at: Date.now() });
  }

  has(id: ChunkId): boolean {
    return this.#where.has(id);
  }

  get size(): number {
    return this.#where.size;
  }

  /** The verified bytes of a chunk, or undefined when it is absent or damaged (then forgotten). */
  async read(id: ChunkId): Promise<Buffer | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const w = this.#where.get(id);
      if (!w) return undefined;
      const recent = this.#recent.get(id);
      if (recent) return recent;
      const at = w.kind === 'pool' ? undefined : w.release;
      const kind = w.kind;
      const data = await this.#readAt(w);
      // Pool records were verified when received (and again when a restart scans the packs);
      // nothing but the agent writes there. Release files are the app's to change, staging
      // files are ordinary files too (and a chunk may sit in one another staging overwrote after
      // a crash): checked.
      if (data && (w.kind === 'pool' || chunkIdOf(data) === id)) return data;
      // Moved meanwhile (pool -> release when a release settles, staging -> release in place, or
      // re-pointed at a newer release): look again before giving up.
      if (this.#where.get(id) !== w || w.kind !== kind || (w.kind !== 'pool' && w.release !== at)) continue;
      this.#where.delete(id);
      return undefined;
    }
    return undefined;
  }

  async #readAt(w: Where): Promise<Buffer | undefined> {
    try {
      if (w.kind === 'pool') return await this.#pool.read(w);
      // Taken now: settleRelease re-points a release's location in place (the read is verified
      // against the chunk id either way).
      const { size, offset } = w;
      const dir = w.kind === 'release' ? this.layout.release(w.release) : this.layout.stagingDir(w.release);
      const fh = await open(path.join(dir, w.path), 'r');
      try {
        const data = Buffer.allocUnsafe(size);
        const { bytesRead } = await fh.read(data, 0, size, offset);
        return bytesRead === size ? data : undefined;
      } finally {
        await fh.close();
      }
    } catch {
      return undefined;
    }
  }

  /**
   * Stores a verified chunk in the pool (appended to a pack; a record torn by a crash fails
   * its SHA-256 check when the pack is scanned and is fetched again).
   */
  async put(id: ChunkId, data: Buffer): Promise<void> {
    if (this.#where.has(id)) return;
    const loc = await this.#pool.append(id, data);
    if (this.#where.has(id)) return; // a concurrent copy landed first
    this.#where.set(id, { kind: 'pool', ...loc });
    this.#recent.remember(id, data);
  }

  /** Set once a neighbour asked this agent for chunks (servesNeighbours): it is a relay. */
  #neighbours = false;

  /**
   * A neighbour asks this agent for chunks (a relay's pull-through, agent.ts): from now on what
   * every transfer places in a staging file is also kept in memory for the next ones who ask.
   */
  servesNeighbours(): void {
    this.#neighbours = true;
  }

  /**
   * Notes a received chunk placed in a staging file at `loc`; false when it was placed nowhere.
   * `keep`: also held in memory (recent-chunks.ts).
   */
  #stage(id: ChunkId, data: Buffer, loc: StagedLoc | undefined, keep: boolean): boolean {
    if (!loc) return false;
    if (!this.#where.has(id)) {
      // Field by field: a spread into a literal is a runtime call each (20,000 a first deploy).
      this.#where.set(id, {
        kind: 'staging',
        release: loc.release,
        path: loc.path,
        offset: loc.offset,
        size: loc.size,
      });
      // Neighbours of a relay ask for what it just received: served from memory, as pool chunks
      // are (reading it back from the file would hash it again). Not for a streamed stage of an
      // agent nobody asked chunks of: nothing reads them back (a copy each, 20,000 a first deploy).
      if (keep || this.#neighbours) this.#recent.remember(id, data);
    }
    return true;
  }

  /** Drops pool copies of chunks that a kept release now holds, and packs nobody resumed. */
  async prunePool(keep: (id: ChunkId) => boolean, maxAgeMs: number): Promise<void> {
    const settled: { id: ChunkId; file: string }[] = [];
    this.#where.forEach((w, id) => {
      if (w.kind === 'pool' && keep(id)) settled.push({ id, file: w.file });
    });
    // The caller re-adds the releases right after, which points these chunks at a release.
    for (const s of settled) this.#where.delete(s.id);
    await this.#pool.settled(settled);
    for (const id of await this.#pool.expire(maxAgeMs)) {
      if (this.#where.get(id)?.kind === 'pool') this.#where.delete(id);
    }
  }

  /** Closes the pool's open packs (the agent shuts down). */
  close(): Promise<void> {
    return this.#pool.close();
  }

  /**
   * Makes sure every id is local, fetching the absent ones from the first source that works.
   * Concurrent callers asking for the same chunk share one transfer (the relay's pull-through).
   */
  async ensure(opts: {
    ids: ChunkId[];
    sources: ChunkSourceRef[];
    maxChunk: number;
    onChunk?: (id: ChunkId, wireBytes: number, source: string) => void;
    /** New chunk -> a chunk this agent has that is much like it: asked for as a delta. */
    bases?: Map<ChunkId, ChunkId[]>;
    /** The part of a base to checksum (base-trim.ts); all of it where absent or null. */
    trims?: Map<ChunkId, BaseRange | null>;
    /** How whole chunks are compressed on the wire (chunk-client's default when absent). */
    encoding?: Encoding;
    /** Given, the origin may adapt the compression of whole chunks (chunk-client.ts). */
    load?: ReceiverLoad;
    /** Writes a received chunk where a staging release wants it; undefined: kept in the pool. */
    place?: (id: ChunkId, data: Buffer) => StagedLoc | undefined | Promise<StagedLoc | undefined>;
    /** Shared by concurrent batches: their deltas are prepared one batch at a time (batching.ts). */
    turns?: Turns;
    /**
     * `neighbours`: a chunk placed in a staging file is kept in memory (recent-chunks.ts) only
     * once a neighbour has asked this agent for chunks (servesNeighbours), not for an assembly
     * (a streamed stage's files are complete as they land). Default `always`.
     */
    keep?: 'always' | 'neighbours';
  }): Promise<{ ok: true } | { ok: false; error: string }> {
    const waits: Promise<void>[] = [];
    const mine: ChunkId[] = [];
    const flight = new InFlight();
    const keep = opts.keep !== 'neighbours' || this.#neighbours;
    for (const id of opts.ids) {
      if (this.#where.has(id)) continue;
      const pending = this.#inflight.get(id);
      if (pending === flight) continue; // listed twice
      if (pending) {
        waits.push(pending.wait(id));
        continue;
      }
      this.#inflight.set(id, flight);
      mine.push(id);
    }
    let failure: string | undefined;
    if (mine.length) {
      let remaining = mine;
      const errors: string[] = [];
      // The bases and their block hashes, read once for every source tried (delta-asks.ts).
      const { deltas, held, files } = await askDeltas(this.#bases, mine, opts);
      // Two rounds over the sources: a connection that broke (a kept-alive socket the origin of
      // an earlier deployment on the same port closed) is retried once, and the second round
      // asks for whole chunks, so a delta that does not rebuild its chunk (a checksum collision)
      // cannot fail the same way on every retry.
      try {
        rounds: for (const useDeltas of [deltas.length > 0, false]) {
          for (const source of opts.sources) {
            const wanted = new Set(remaining);
            /** Chunks of `remaining` stored by this request (each once: fetchChunks hands on each once). */
            let got = 0;
            // One function per request, not a closure per chunk: a chunk is stored, its waiters woken.
            const stored = (id: ChunkId, wire: number) => {
              got++;
              this.#wire.set(id, { bytes: wire, at: Date.now() });
              opts.onChunk?.(id, wire, source.url);
              flight.arrived(id);
              this.#inflight.delete(id);
            };
            const r = await fetchChunks({
              source,
              ids: remaining,
              deltas: useDeltas ? deltas.filter((d) => wanted.has(d.id)) : undefined,
              encoding: opts.encoding,
              load: opts.load,
              base: (b) => held.get(b),
              maxChunk: opts.maxChunk,
              onChunk: (id, data, wire) => {
                // Its base was needed to decode it only: freed now, not with the whole batch.
                if (deltas.length) held.drop(id);
                // Synchronous when the placing is (a small file's write): no promise per chunk.
                const loc = opts.place?.(id, data);
                if (loc instanceof Promise)
                  return loc.then((l) =>
                    this.#stage(id, data, l, keep)
                      ? stored(id, wire)
                      : this.put(id, data).then(() => stored(id, wire)),
                  );
                if (this.#stage(id, data, loc, keep)) return stored(id, wire);
                return this.put(id, data).then(() => stored(id, wire));
              },
            });
            // Every one stored: none left to look for (20,000 lookups a first deploy).
            remaining =
              r.ok && got === remaining.length ? [] : remaining.filter((id) => !this.#where.has(id));
            if (r.ok || remaining.length === 0) break;
            errors.push(r.error.message);
            // Storing failed here (a full disk): another source or round fails the same way.
            if (r.error.where === 'store') break rounds;
          }
          if (remaining.length === 0) break;
        }
      } finally {
        files.close();
      }
      if (remaining.length) {
        failure = errors.length
          ? [...new Set(errors)].join('; ')
          : `no source to fetch ${remaining.length} missing chunks from`;
        const e = new Error(failure);
        for (const id of remaining) {
          flight.failed(id, e);
          this.#inflight.delete(id);
        }
      }
    }
    const settled = await Promise.allSettled(waits);
    const bad = settled.find((s) => s.status === 'rejected');
    if (failure) return { ok: false, error: failure };
    if (bad)
      return {
        ok: false,
        error: String((bad as PromiseRejectedResult).reason?.message ?? 'transfer failed'),
      };
    return { ok: true };
  }
}
