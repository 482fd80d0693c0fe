/**
 * Staging on an agent: a release's missing chunks fetched, its files written and the release
 * assembled under `releases/<id>`, one run per release however many ask; the staging folders of
 * releases being staged or left half-staged; the tree prepared ahead of a first release.
 */

import { err, ok, type Result } from '../../util/result.js';
import { trace } from '../../util/trace.js';
import {
  chunksOf,
  chunkTotals,
  type Manifest,
  manifestJson,
  releaseIdOf,
  releaseIdOfJson,
  validateManifest,
} from '../manifest.js';
import type { ChunkId, ReleaseId } from '../types.js';
import { Arrivals } from './arrivals.js';
import { assembleRelease } from './assembly.js';
import { type BaseRange, trimBases } from './base-trim.js';
import type { ChunkIndex } from './chunk-index.js';
import type { AheadCopies } from './copies-ahead.js';
import { EarlyFlush } from './early-flush.js';
import { startEarlyWrites } from './early-writes.js';
import { countReceived, fetchMissing } from './fetch-missing.js';
import { matchKept } from './kept-matches.js';
import type { KeptReleases } from './kept-releases.js';
import type { Layout } from './layout.js';
import { linkAhead, linksAhead } from './link-ahead.js';
import { linksInto } from './link-pass.js';
import type { StageProgress, StageRequest, StageResult } from './operations.js';
import { checkOutline, PreparedTree } from './prepared-tree.js';
import type { ReleaseTimes } from './release-times.js';
import { StagingArea } from './staging-area.js';
import { adoptStream, assembleStreamed, dropStream, type Streamed, stagedBefore } from './stream-stage.js';
import { makeTwin } from './twins.js';

export interface StagerOptions {
  layout: Layout;
  index: ChunkIndex;
  kept: KeptReleases;
  times: ReleaseTimes;
  /** The relay grants (grants.ts): chunks pulled through since the latest one count as fetched. */
  grants: { readonly grantedAt: number };
  /** Half-staged releases found at start-up (startup-sweep.ts), to resume. */
  areas: StagingArea[];
  /** How long a tree prepared ahead keeps its files open for its release (PREPARED_OPEN_MS). */
  preparedOpenMs?: number;
  /** Copies of large files' bases made ahead of their stage request (copies-ahead.ts). */
  ahead?: AheadCopies;
}

/**
 * A tree prepared ahead holds up to 65,536 descriptors for its release's staging; a release that
 * has not come within this long (its deployer gone, or its walk very long) gets them closed, and
 * its staging then opens the files itself.
 */
const PREPARED_OPEN_MS = 60_000;

export class Stager {
  /** Releases staged under a deploy lock, by holder: not pruned while that holder is live. */
  readonly stagedBy = new Map<ReleaseId, string>();
  /** Stagings under way; undefined: one from what the agent has (stageLocal) that could not. */
  readonly #running = new Map<ReleaseId, Promise<Result<StageResult, string> | undefined>>();
  /** Releases being staged or left half-staged (a failed transfer, a crash): their folders. */
  readonly #areas = new Map<ReleaseId, StagingArea>();
  /** A first release's tree being created ahead of its manifest (prepare()). */
  #prepared: PreparedTree | undefined;

  constructor(readonly o: StagerOptions) {
    for (const area of o.areas) this.#areas.set(area.id, area);
  }

  /** The releases being staged now. */
  running(): IterableIterator<ReleaseId> {
    return this.#running.keys();
  }

  /** Stages a release: fetch what is missing, assemble and verify `releases/<id>`. Idempotent. */
  stage(
    req: StageRequest,
    progress: (p: StageProgress) => void = () => {},
  ): Promise<Result<StageResult, string>> {
    const checked = this.#check(req, true);
    if (!checked.ok) return Promise.resolve(checked);
    const { id, manifest, json } = checked.value;
    const running = this.#running.get(id);
    // Joined; a staging from what the agent has that could not is done for real after it.
    if (running) return running.then((r) => r ?? this.stage(req, progress));
    return this.#run(id, this.#stage(id, manifest, req, progress, json)).then(
      (r) => r ?? err(`staging ${id} stopped`),
    );
  }

  /**
   * Stages a release only from what this agent has: kept already, or made the twin of a kept
   * release (twins.ts), with no chunk to fetch and no file to write. Undefined when that cannot
   * be (the content differs from every kept release, the folder to share was touched, or a
   * staging of it runs): the caller then stages it with sources.
   */
  stageLocal(req: StageRequest): Promise<Result<StageResult, string> | undefined> {
    const checked = this.#check(req);
    if (!checked.ok) return Promise.resolve(checked);
    const { id, manifest } = checked.value;
    trace(`stage ${id}: id checked`);
    if (this.#running.has(id)) return Promise.resolve(undefined);
    return this.#run(
      id,
      this.#fromKept(id, manifest, !req.activateNext).then((r) => r && ok(r)),
    );
  }

  /**
   * The request's manifest, checked, and its release id, which must be the one asked for. With
   * `withJson`, its canonical JSON too, the text hashed for the id: a staging writes that text
   * beside its folder, where it serialized the 20,000 entries again (~20 ms of the agent's main
   * thread before the fetch of a 10% edit, CPU profiles).
   */
  #check(
    req: StageRequest,
    withJson = false,
  ): Result<{ id: ReleaseId; manifest: Manifest; json?: string }, string> {
    const parsed = validateManifest(req.manifest);
    if (!parsed.ok) return err(`manifest refused: ${parsed.error}`);
    const manifest = parsed.value;
    const json = withJson ? manifestJson(manifest) : undefined;
    const id = json === undefined ? releaseIdOf(manifest) : releaseIdOfJson(manifest, json);
    if (id !== req.release) return err(`release id ${req.release} does not match the manifest (${id})`);
    if (req.holder) this.stagedBy.set(id, req.holder);
    return ok({ id, manifest, ...(json === undefined ? {} : { json }) });
  }

  /** Registers a staging of `id` as running until it settles. */
  #run<T extends Result<StageResult, string> | undefined>(id: ReleaseId, staging: Promise<T>): Promise<T> {
    const running = staging.finally(() => this.#running.delete(id));
    this.#running.set(id, running);
    return running;
  }

  /**
   * `id` from what this agent has, when it can: kept already (answered as staged), or the twin
   * of a kept release of the same content whose folder is untouched. Undefined otherwise.
   */
  async #fromKept(
    id: ReleaseId,
    manifest: Manifest,
    saveTimes: boolean,
    all?: Map<ChunkId, number>,
  ): Promise<StageResult | undefined> {
    const { layout, kept, times } = this.o;
    const releases = kept.manifests;
    const t0 = performance.now();
    // Counted once per entries list: an unchanged redeploy's is its twin's (20,000 entries).
    const totals = chunkTotals(manifest, all);
    const p: StageProgress = {
      chunksTotal: totals.count,
      chunksReused: totals.count,
      chunksFetched: 0,
      bytesFetched: 0,
    };
    if (releases.has(id)) {
      await times.touch(id, 'stagedAt', saveTimes);
      return { ...p, release: id, alreadyStaged: true, bytesReused: 0, filesCopied: 0, ms: 0 };
    }
    trace(`stage ${id}: looking for a twin`);
    const twin = await makeTwin(layout, releases, kept.twins, id, manifest, (r) => kept.files.stats(r));
    if (!twin) return undefined;
    trace(`stage ${id}: twin of ${twin}`);
    const dropped = this.#dropArea(id);
    releases.set(id, manifest);
    kept.files.rebuild(releases);
    // Independent writes (a leftover staging area, the release's times): waited for together.
    await Promise.all([dropped, times.touch(id, 'stagedAt', saveTimes)]);
    let files = 0;
    for (const e of manifest.entries) if (e.type === 'file') files++;
    return {
      ...p,
      release: id,
      alreadyStaged: false,
      bytesReused: totals.bytes,
      filesCopied: files,
      ms: performance.now() - t0,
    };
  }

  async #stage(
    id: ReleaseId,
    manifest: Manifest,
    req: StageRequest,
    progress: (p: StageProgress) => void,
    /** The manifest's canonical JSON, made for its id (#check). */
    json?: string,
  ): Promise<Result<StageResult, string>> {
    const sources = req.sources ?? [];
    const hints = req.bases ?? {};
    const { layout, index, kept, times } = this.o;
    const releases = kept.manifests;
    const t0 = performance.now();
    // A relay may have pulled chunks through for a neighbour before its own stage began: they
    // still crossed the network for this deployment, so they count from the grant on.
    const grantedAt = this.o.grants.grantedAt;
    const since = Math.min(Date.now(), grantedAt > Date.now() - 3_600_000 ? grantedAt : Date.now());
    const all = chunksOf(manifest);
    const local = await this.#fromKept(id, manifest, !req.activateNext, all);
    if (local) return ok(local);
    const p: StageProgress = { chunksTotal: all.size, chunksReused: 0, chunksFetched: 0, bytesFetched: 0 };
    let bytesReused = 0;
    let missingBytes = 0;
    const missing: ChunkId[] = [];
    for (const [chunk, size] of all) {
      if (index.has(chunk)) {
        p.chunksReused++;
        bytesReused += size;
      } else {
        missing.push(chunk);
        missingBytes += size;
      }
    }
    progress({ ...p });
    const onChunk = (_: ChunkId, wire: number) => {
      p.chunksFetched++;
      p.bytesFetched += wire;
      progress({ ...p });
    };
    const area = await this.#area(id, manifest, json);
    // Files neither identical to a kept one nor written from an earlier version of themselves
    // are written from chunks: theirs go straight into the staging folder as they arrive.
    const { elsewhere, same, based } = await matchKept(area.files, kept.files, releases);
    // The ranges of their delta bases worth checksumming, from their old chunk lists (base-trim.ts).
    const trims = new Map<ChunkId, BaseRange | null>();
    for (const { e, base } of based) trimBases(e.chunks, base.chunks, hints, trims);
    if (trims.size) trace(`stage ${id}: ${[...trims.values()].filter((t) => t).length} delta bases trimmed`);
    area.plan(
      (e) => !elsewhere.has(e.path),
      (c) => !index.has(c),
    );
    trace(`stage ${id}: ${missing.length} of ${all.size} chunks to fetch`);
    // Only in a fresh folder (nothing there yet), and where files are linked, not cloned (clones
    // are the assembly's, a thread-pool call each).
    const linking =
      same.length && area.fresh && linksAhead() && (await linksInto(layout.releases, layout.staging))
        ? linkAhead(area.dir, same)
        : undefined;
    const chunk = async (c: ChunkId): Promise<Buffer> => {
      let data = await index.read(c);
      if (!data) {
        // A reused copy was damaged (an app wrote into its release): fetch it again.
        const r = await index.ensure({
          ids: [c],
          sources,
          maxChunk: manifest.chunking.max,
          onChunk,
        });
        data = r.ok ? await index.read(c) : undefined;
      }
      if (!data) throw new Error(`chunk ${c.slice(0, 12)} is missing and no source has it`);
      return data;
    };
    // Changed files written from their earlier version start now, beside the transfer.
    // Only files written from an earlier version wait on arrivals (none on a first deploy).
    const arrivals = new Arrivals(based.length ? missing : []);
    const { early, started, direct, place } = startEarlyWrites({
      release: id,
      dir: area.dir,
      based,
      arrivals,
      chunk,
      ahead: this.o.ahead,
    });
    // The chunks written straight into those files, forgotten when this attempt fails: the next
    // one writes the files anew.
    const forgetDirect = () => {
      for (const d of direct) index.forgetStaged(d.written);
    };
    // What arrives is flushed to disk during the transfer (a large one), not all at its end.
    const flush = EarlyFlush.forTransfer(area.dir, missingBytes, missingBytes + bytesReused);
    // Set when the transfer returns; should it throw instead, the early writers stop too.
    let failure: string | undefined = 'the transfer stopped';
    try {
      failure = await fetchMissing({
        index,
        all,
        missing,
        sources,
        maxChunk: manifest.chunking.max,
        hints,
        trims,
        after: started,
        // A received chunk is read back only by the files written from their earlier version
        // (early-writes.ts, through `chunk`): without any (a first deploy), a copy of each in
        // memory (recent-chunks.ts, up to 8 MB) served nobody but a relay's neighbours. Six
        // agents of a first deploy on a 2-core machine each copied their first 8 MB into fresh
        // pages (perf: ~100 ms of page faults and copies across the six).
        keep: based.length ? 'always' : 'neighbours',
        // Synchronous while both are (a small file's write): no promise per chunk.
        place: (c, data) => {
          const loc = area.place(c, data);
          return loc instanceof Promise ? loc.then((l) => l ?? place(c, data)) : (loc ?? place(c, data));
        },
        onChunk: (c, wire) => {
          onChunk(c, wire);
          arrivals.arrived(c);
          flush?.wrote(all.get(c) ?? 0);
        },
      });
    } finally {
      arrivals.end(failure);
      // What it linked stays in the folder: the next attempt must replace, not create, its files.
      if (failure && linking) {
        await linking;
        area.assembling();
      }
    }
    if (failure) {
      await Promise.allSettled(early.values());
      forgetDirect();
      await area.close();
      return err(`staging ${id} failed: ${failure}`);
    }
    Object.assign(p, countReceived(index, all, since));
    p.chunksReused = all.size - p.chunksFetched;
    trace(`stage ${id}: fetched`);
    let filesCopied = 0;
    try {
      filesCopied = await assembleRelease({
        layout,
        id,
        manifest,
        area,
        early,
        sameAs: (e) => kept.files.identical(e, releases),
        linkedAhead: linking,
        baseOf: (e) => kept.files.previous(e, releases),
        chunk,
      });
    } catch (e) {
      await Promise.allSettled(early.values());
      forgetDirect();
      return err(`assembling ${id} failed: ${(e as Error).message}`);
    }
    trace(`stage ${id}: assembled`);
    this.#areas.delete(id);
    releases.set(id, manifest);
    kept.files.rebuild(releases);
    await index.settleRelease(id, manifest);
    await times.touch(id, 'stagedAt', !req.activateNext);
    return ok({
      ...p,
      release: id,
      alreadyStaged: false,
      bytesReused,
      filesCopied,
      ms: performance.now() - t0,
    });
  }

  /** A finished streamed stage (stream-stage.ts) made its release's staging and assembled; joined when staged. */
  stageStreamed(s: Streamed, holder?: string): Promise<Result<StageResult, string>> {
    if (holder) this.stagedBy.set(s.id, holder);
    const running = this.#running.get(s.id);
    const done = ok(stagedBefore(s));
    if (running || this.o.kept.manifests.has(s.id))
      return dropStream(this.o, s.name).then(() => running?.then((r) => r ?? done) ?? done);
    const staging = this.#dropArea(s.id).then(() => adoptStream(this.o, s));
    return this.#run(s.id, assembleStreamed(this.o, s, staging, this.#areas));
  }

  /**
   * Starts creating a first release's folders and empty files from the outline of an artifact
   * whose manifest is still being made (prepared-tree.ts). Skipped, answering false, when this
   * host has a release or is staging one: its files will then be linked, not created.
   */
  prepare(outline: string[]): Result<boolean, string> {
    const checked = checkOutline(outline);
    if (!checked.ok) return checked;
    if (this.o.kept.manifests.size > 0 || this.#running.size > 0 || this.#areas.size > 0) return ok(false);
    if (this.#prepared) void this.#prepared.discard();
    const tree = PreparedTree.start(this.o.layout.staging, outline);
    this.#prepared = tree;
    setTimeout(() => {
      if (this.#prepared === tree) tree.closeOpen();
    }, this.o.preparedOpenMs ?? PREPARED_OPEN_MS).unref();
    return ok(true);
  }

  /** The agent stops: a tree prepared ahead closes its files (its folder is swept at the next start). */
  async stop(): Promise<void> {
    const prepared = this.#prepared;
    this.#prepared = undefined;
    await prepared?.stop();
  }

  /** Removes the staging folders nobody resumed within `maxAgeMs` (pruning, after an activation). */
  async dropStale(maxAgeMs: number): Promise<void> {
    for (const [id, area] of this.#areas)
      if (!this.#running.has(id) && (await area.age()) >= maxAgeMs) await this.#dropArea(id);
  }

  /** The staging folder of `id`: the one an earlier attempt left, or a new one. */
  async #area(id: ReleaseId, manifest: Manifest, json?: string): Promise<StagingArea> {
    let area = this.#areas.get(id);
    if (!area) {
      // The tree prepared ahead serves a first release only: with a kept release, files linked
      // from it must not find an empty one in their place.
      const prepared = this.#prepared;
      this.#prepared = undefined;
      const usable = prepared && this.o.kept.manifests.size === 0 ? prepared : undefined;
      area = await StagingArea.create(this.o.layout, id, manifest, usable, json);
      this.#areas.set(id, area);
      // Deleted when it was not moved into place (an empty no-op when it was).
      if (prepared) void prepared.discard();
    }
    return area;
  }

  async #dropArea(id: ReleaseId): Promise<void> {
    const area = this.#areas.get(id);
    if (!area) return;
    this.#areas.delete(id);
    this.o.index.dropStaging(id);
    await area.remove();
  }
}
