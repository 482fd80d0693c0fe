/**
 * A streamed stage on the agent (POST /v1/stage-stream; the deployer's side is
 * deploy/stage-stream.ts): a first release staged while its manifest still arrives. Each entry is
 * checked as it comes (stream-lines.ts, then manifest-lines.ts ManifestLines: the rules /v1/stage
 * applies to a whole manifest), its folder or files made in `staging/.stream-<random>`
 * (stream-files.ts), its chunks fetched in batches as entries come (the chunk index's transfers,
 * four at once, as fetch-missing.ts batches them). The last line names the release id: the
 * entries must hash to it, or nothing is kept. Only then does the folder become the release's
 * ordinary staging folder (stager.ts stageStreamed), assembled and made durable as any. A
 * stream that fails, or breaks off, leaves no staging folder behind (a crash's is swept at the
 * next start: it is not named as a release), and its chunks are forgotten: a retry fetches anew.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fewerCompiles } from '../../util/hot-code-only.js';
import { err, ok, type Result } from '../../util/result.js';
import { roomForDeploy, roomForManyFiles } from '../../util/small-heap.js';
import { trace } from '../../util/trace.js';
import type { ChunkSourceRef } from '../chunk-client.js';
import { type Manifest, type ManifestEntry, manifestJson, releaseIdOfJson } from '../manifest.js';
import type { ManifestLines, PartOf } from '../manifest-lines.js';
import { ReceiverLoad } from '../receiver-load.js';
import type { ChunkId, ReleaseId } from '../types.js';
import { assembleRelease } from './assembly.js';
import type { ChunkIndex } from './chunk-index.js';
import { flushesFilesystem } from './durability.js';
import { EarlyFlush } from './early-flush.js';
import type { Layout } from './layout.js';
import type { StageProgress, StageResult } from './operations.js';
import type { StagerOptions } from './stager.js';
import { StagingArea } from './staging-area.js';
import { StreamFiles } from './stream-files.js';

/** From this many files on, the heap may grow faster (small-heap.ts roomForManyFiles). */
const MANY_FILES = 2000;

/** Transfers at once, as fetch-missing.ts runs them. */
const PARALLEL = 4;
/** The first batch is small, to set the origin going; later ones up to 4 MiB (fetch-missing.ts). */
const FIRST_BATCH = 1024 * 1024;
const BATCH = 4 * 1024 * 1024;

/** What a finished stream made: the release it is, checked, and its files' mtimes. */
export interface Streamed {
  id: ReleaseId;
  manifest: Manifest;
  /** The manifest's canonical JSON (manifest.ts manifestJson), which `id` is the digest of. */
  json: string;
  /** The folder under staging holding it. */
  name: string;
  /** Per file entry, in manifest order: its mtime as written. */
  mtimes: number[];
  progress: StageProgress;
}

export class StreamStaging {
  readonly files: StreamFiles;
  /** Chunks to fetch, in manifest order, from #head on (shifting 20,000 ids one by one is quadratic). */
  #queue: ChunkId[] = [];
  #head = 0;
  #queued = 0;
  /** Every distinct chunk of the entries so far, with its size. */
  readonly #sizes = new Map<ChunkId, number>();
  readonly #tasks = new Set<Promise<void>>();
  #running = 0;
  #batches = 0;
  #ended = false;
  #failure: string | undefined;
  readonly #load = new ReceiverLoad();
  /** A flush at half the bytes the header listed, when that is much, and a last (EarlyFlush.forTransfer). */
  readonly #flush: EarlyFlush | undefined;
  /** Flushes as the small files are written, however little the header listed (EarlyFlush.forStream). */
  readonly #fileFlush: EarlyFlush;
  readonly p: StageProgress = { chunksTotal: 0, chunksReused: 0, chunksFetched: 0, bytesFetched: 0 };

  private constructor(
    readonly o: {
      index: ChunkIndex;
      lines: ManifestLines;
      sources: ChunkSourceRef[];
      /** Hears the counts as chunks come: this staging's own object, read at once, not kept. */
      onProgress: (p: StageProgress) => void;
    },
    readonly layout: Layout,
    readonly name: string,
    bytes: number,
  ) {
    this.files = new StreamFiles(this.dir, name);
    this.#flush = EarlyFlush.forTransfer(this.dir, bytes, bytes);
    this.#fileFlush = EarlyFlush.forStream(this.dir);
  }

  /** Makes the stream's folder under staging. */
  static async open(layout: Layout, o: StreamStaging['o'] & { bytes?: number }): Promise<StreamStaging> {
    const name = `.stream-${randomBytes(6).toString('hex')}`;
    const s = new StreamStaging(o, layout, name, o.bytes ?? 0);
    await mkdir(s.dir, { recursive: true });
    return s;
  }

  get dir(): string {
    return path.join(this.layout.staging, this.name);
  }

  /** Early flushes of the filesystem started so far (early-flush.ts; for tests). */
  get earlyFlushes(): number {
    return (this.#flush?.started ?? 0) + this.#fileFlush.started;
  }

  /** The first failure of a transfer, if any (the stream then stops). */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** Set once a part came (hot-code-only.ts fewerCompiles), until the stream finishes or stops. */
  #fewerCompiles: (() => void) | undefined;

  /** Set once MANY_FILES files came (small-heap.ts roomForManyFiles), until the stream finishes or stops. */
  #roomForManyFiles: (() => void) | undefined;

  /** The file whose parts came (its entry is next): its number in `files`, its parts' chunks and bytes. */
  #parted: { f: number; chunks: number; bytes: number } | undefined;

  /**
   * Takes the next entry (checked by the caller's ManifestLines): made, its chunks asked for; a
   * file that came in parts is closed with the rest of its chunks.
   */
  add(e: ManifestEntry): void {
    if (e.type === 'dir') this.files.folder(e);
    if (e.type !== 'file') return; // a symlink is made at assembly
    if (this.files.files.length === MANY_FILES) {
      this.#roomForManyFiles ??= roomForManyFiles();
      // And the young generation grown as for a prepared tree (no /v1/prepare precedes a stream):
      // at the 1 MiB semi-spaces of a small heap, 20,000 files cost well over 100 scavenges.
      roomForDeploy();
    }
    const parted = this.#parted;
    this.#parted = undefined;
    this.#want(parted ? this.files.closing(parted.f, e, parted.chunks, parted.bytes) : this.files.file(e));
  }

  /**
   * Takes a part of a large file's chunk list before its entry (checked by the caller's
   * ManifestLines part): the file is created once its first chunk lands, each chunk written at
   * its offset as it comes.
   */
  part(p: PartOf): void {
    if (p.first) this.#parted = { f: this.files.opening(p.path, p.mode), chunks: 0, bytes: 0 };
    // Its chunks go through native code (sockets, SHA-256, writes) driven by a little JavaScript:
    // TurboFan's compiles of it cost more than they gained (small-heap.ts), until the stage ends.
    this.#fewerCompiles ??= fewerCompiles();
    const parted = this.#parted!;
    const fresh = this.files.more(parted.f, p.offset, p.chunks);
    parted.chunks += p.chunks.length;
    for (const [, n] of p.chunks) parted.bytes += n;
    this.#want(fresh);
  }

  /** Asks for chunks nobody waited for before: copied if here already, else queued to fetch. */
  #want(fresh: [ChunkId, number][]): void {
    for (const [id, size] of fresh) {
      if (this.#sizes.has(id)) {
        // Arrived already for an earlier file: copied from where it landed.
        this.#track(this.#copy(id));
        continue;
      }
      this.#sizes.set(id, size);
      this.p.chunksTotal++;
      if (this.o.index.has(id)) {
        this.p.chunksReused++;
        this.#track(this.#copy(id));
      } else {
        this.#queue.push(id);
        this.#queued += size;
      }
    }
    if (this.#queued >= this.#target()) this.pump();
  }

  /**
   * Starts batches while fewer than four run: full ones, or with `partial` (the input paused)
   * whatever is queued when none runs: better a small batch than an idle link, but a small batch
   * beside running ones only adds a request (measured: 200+ batches of ~100 chunks for 20,000
   * files, the origin's thread, which also walks the artifact, serving each).
   */
  pump(partial = true): void {
    while (this.#running < PARALLEL && this.#head < this.#queue.length && this.#failure === undefined) {
      const target = this.#target();
      const small = this.#queued < target;
      if (small && !this.#ended && !(partial && this.#running === 0)) return;
      const ids: ChunkId[] = [];
      let bytes = 0;
      while (this.#head < this.#queue.length && bytes < target) {
        const id = this.#queue[this.#head++]!;
        ids.push(id);
        bytes += this.#sizes.get(id)!;
      }
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
      this.#queued -= bytes;
      if (this.#batches === 0) trace(`stage-stream: first batch (${ids.length} chunks)`);
      this.#batches++;
      this.#running++;
      this.#track(
        this.#fetch(ids).finally(() => {
          this.#running--;
          this.pump();
        }),
      );
    }
  }

  /** Waits for every chunk; then the manifest, which must hash to `claimed` with `count` entries. */
  async finish(claimed: ReleaseId, count: number): Promise<Result<Streamed, string>> {
    this.#ended = true;
    this.pump();
    while (this.#tasks.size) await Promise.allSettled([...this.#tasks]);
    this.#fewerCompiles?.();
    this.#roomForManyFiles?.();
    trace(`stage-stream: ${this.#batches} batches`);
    if (this.#failure) return err(this.#failure);
    this.#flushed();
    // The transfer's last flush only where the durable step flushes the filesystem too (many
    // files, assembleStreamed's `auto`): a few files it fsyncs one by one, which a flush of the
    // whole filesystem beside them would only hold up (the 200 MB file's, synced as it grew).
    if (flushesFilesystem('auto', this.files.files.length)) this.#flush?.last();
    this.#fileFlush.last();
    const lines = this.o.lines;
    if (count !== lines.entries.length)
      return err(`the stream sent ${lines.entries.length} entries, its last line says ${count}`);
    // A large file whose last chunks came before its entry finishes its direct writes aside.
    await this.files.finished();
    const missing = this.files.incomplete();
    if (missing) return err(`${missing.path} was not completed by the chunks that came`);
    this.files.close();
    const m = lines.finish();
    if (!m.ok) return err(`manifest refused: ${m.error}`);
    // Serialized once: hashed here, written as the staging's manifest by the adoption.
    const json = manifestJson(m.value);
    const id = releaseIdOfJson(m.value, json);
    if (id !== claimed) return err(`release id ${claimed} does not match the manifest streamed (${id})`);
    return ok({
      id,
      manifest: m.value,
      json,
      name: this.name,
      mtimes: this.files.mtimes,
      progress: { ...this.p },
    });
  }

  /** Stops: transfers end, files close, the folder and its chunks are forgotten. */
  async abort(reason: string): Promise<void> {
    this.#failure ??= reason;
    this.#ended = true;
    this.#queue = [];
    this.#head = 0;
    while (this.#tasks.size) await Promise.allSettled([...this.#tasks]);
    this.#fewerCompiles?.();
    this.#roomForManyFiles?.();
    this.files.close();
    await dropStream({ index: this.o.index, layout: this.layout }, this.name);
  }

  #target(): number {
    return this.#batches === 0 ? FIRST_BATCH : BATCH;
  }

  #track(t: Promise<void>): void {
    const held = t.catch((e: unknown) => {
      this.#failure ??= (e as Error).message;
    });
    this.#tasks.add(held);
    void held.finally(() => this.#tasks.delete(held));
  }

  async #fetch(ids: ChunkId[]): Promise<void> {
    if (this.#failure !== undefined) return;
    /** Chunks of `ids` this transfer brought (each once: the index hands on each chunk it stores once). */
    let came = 0;
    const r = await this.o.index.ensure({
      ids,
      sources: this.o.sources,
      maxChunk: this.o.lines.chunking.max,
      // A first release: compression adapted to the bottleneck, as a bulk transfer's.
      encoding: 'br-fast',
      load: this.#load,
      place: (id, data) => this.files.place(id, data),
      // Its files are complete as they land: the chunks are kept in memory only for neighbours.
      keep: 'neighbours',
      onChunk: (id, wire) => {
        came++;
        this.p.chunksFetched++;
        this.p.bytesFetched += wire;
        this.#flush?.wrote(this.#sizes.get(id) ?? 0);
        this.#flushed();
        // Not a copy per chunk: the listener reads it at once (at most every 100 ms).
        this.o.onProgress(this.p);
      },
    });
    if (!r.ok) throw new Error(r.error);
    // Chunks that another transfer brought (a neighbour's through this relay) are in the pool:
    // looked for only when this one did not bring them all (not 20,000 lookups a first deploy).
    // One it brought whose places wait still (another length than listed) leaves its file
    // incomplete, which finish() refuses.
    if (came < ids.length) for (const id of ids) if (this.files.waits(id)) await this.#copy(id);
  }

  /** The files (StreamFiles unsyncedFiles) counted towards the early flushes so far. */
  #counted = 0;

  /** The files settled since the last call go towards the next early flush (#fileFlush). */
  #flushed(): void {
    const n = this.files.unsyncedFiles;
    if (n === this.#counted) return;
    this.#fileFlush.wrote(n - this.#counted);
    this.#counted = n;
  }

  /** Writes a chunk this agent has where the stream's files wait for it. */
  async #copy(id: ChunkId): Promise<void> {
    let data = await this.o.index.read(id);
    if (!data) {
      // Arrived but not noted yet: its first place's write (through the thread pool) is under
      // way, and the index notes it once written. A later part listing it again found nobody
      // waiting for it (its places were taken by that write): wait for the transfer bringing it
      // (the index's in-flight chunks), or fetch it anew when none is.
      const r = await this.o.index.ensure({
        ids: [id],
        sources: this.o.sources,
        maxChunk: this.o.lines.chunking.max,
        encoding: 'br-fast',
        load: this.#load,
      });
      if (r.ok) data = await this.o.index.read(id);
      trace(`stage-stream: chunk ${id.slice(0, 12)} listed again while its first write was under way`);
    }
    if (!data) throw new Error(`chunk ${id.slice(0, 12)} is no longer here and no source was asked for it`);
    await this.files.place(id, data);
    if (this.files.waits(id))
      throw new Error(`chunk ${id.slice(0, 12)} is ${data.length} bytes, not what the manifest says`);
  }
}

/** A streamed stage's outcome when its release was staged by another request meanwhile. */
export function stagedBefore(s: Streamed): StageResult {
  return { ...s.progress, release: s.id, alreadyStaged: true, bytesReused: 0, filesCopied: 0, ms: 0 };
}

/** Makes a finished streamed stage's folder the staging folder of its release (staging-area.ts adopt). */
export async function adoptStream(
  o: Pick<StagerOptions, 'layout' | 'index'>,
  s: Streamed,
): Promise<StagingArea> {
  const area = await StagingArea.adopt(o.layout, s.id, s.manifest, s.name, s.mtimes, s.json);
  o.index.moveStaging(s.name, s.id);
  return area;
}

/**
 * Assembles a streamed stage adopted as the staging folder `area` of its release (stager.ts
 * stageStreamed): every file is complete, so this is the folders' modes, the symlinks and the
 * durability (assembly.ts); then the release is kept like any staged one.
 */
export async function assembleStreamed(
  o: Pick<StagerOptions, 'layout' | 'index' | 'kept' | 'times'>,
  s: Streamed,
  adopted: Promise<StagingArea>,
  /** The stager's staging areas: this one is among them until it is assembled. */
  areas: Map<ReleaseId, StagingArea>,
): Promise<Result<StageResult, string>> {
  const { layout, index, kept, times } = o;
  const { id, manifest } = s;
  const t0 = performance.now();
  const area = await adopted;
  areas.set(id, area);
  try {
    await assembleRelease({
      layout,
      id,
      manifest,
      area,
      chunk: async (c) => {
        const data = await index.read(c);
        if (!data) throw new Error(`chunk ${c.slice(0, 12)} is missing`);
        return data;
      },
    });
  } catch (e) {
    return err(`assembling ${id} failed: ${(e as Error).message}`);
  }
  trace(`stage ${id}: assembled`);
  areas.delete(id);
  kept.manifests.set(id, manifest);
  kept.files.rebuild(kept.manifests);
  await index.settleRelease(id, manifest);
  await times.touch(id, 'stagedAt', true);
  return ok({
    ...s.progress,
    release: id,
    alreadyStaged: false,
    bytesReused: 0,
    filesCopied: 0,
    ms: performance.now() - t0,
  });
}

/** Deletes a streamed stage's folder `staging/<name>` and forgets the chunks found in it. */
export async function dropStream(o: { index: ChunkIndex; layout: Layout }, name: string): Promise<void> {
  o.index.dropStaging(name as ReleaseId);
  await rm(path.join(o.layout.staging, name), { recursive: true, force: true });
}
