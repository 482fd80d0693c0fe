/** The agent's operations, independent of HTTP: stage, activate, roll back, serve chunks, status. */
import { mkdir, readFile } from 'node:fs/promises';
import { writeAtomic } from '../../state/atomic-write.js';
import { failpoint } from '../../util/failpoint.js';
import { err, ok, type Result } from '../../util/result.js';
import { trace } from '../../util/trace.js';
import type { ChunkSourceRef } from '../chunk-client.js';
import { chunksOf, type Manifest, releaseIdOf, validateManifest } from '../manifest.js';
import { DEPLOY_PROTOCOL } from '../protocol.js';
import type { ChunkId, ReleaseId } from '../types.js';
import { type AppStatus, AppSupervisor } from './app.js';
import { AppValidator } from './app-validation.js';
import { Arrivals } from './arrivals.js';
import { ChunkIndex } from './chunk-index.js';
import { DeployLock } from './deploy-lock.js';
import { startEarlyWrites } from './early-writes.js';
import { countReceived, fetchMissing } from './fetch-missing.js';
import type { BaseFile } from './file-from-base.js';
import { FileIndex } from './file-index.js';
import { type Grant, Grants } from './grants.js';
import { Layout } from './layout.js';
import type {
  ActivateRequest,
  ActivateResult,
  StageProgress,
  StageRequest,
  StageResult,
} from './operations.js';
import { checkOutline, PreparedTree } from './prepared-tree.js';
import { prunePlan } from './prune-plan.js';
import { assembleRelease, currentRelease, loadReleases, removeRelease, switchCurrent } from './releases.js';
import { spreadInodes } from './spread-inodes.js';
import { StagingArea } from './staging-area.js';
import { makeTwin, readTwins } from './twins.js';

interface State {
  releases: Record<string, { stagedAt: number; activatedAt?: number }>;
}

export interface AgentOptions {
  dir: string;
  token: string;
  keep?: number;
  /** How long pool chunks and staging folders of unfinished transfers are kept for a resume. */
  poolMaxAgeMs?: number;
  /** Told what went wrong off a request's path (a pruning that failed after its answer). */
  warn?: (message: string) => void;
}

export class Agent {
  readonly layout: Layout;
  readonly index: ChunkIndex;
  readonly app: AppSupervisor;
  readonly lock = new DeployLock();
  /** Start-up time, memory and CPU of the app after each activation (app-validation.ts). */
  readonly validator = new AppValidator();
  /** Releases staged under a deploy lock, by holder: not pruned while that holder is live. */
  readonly #stagedBy = new Map<ReleaseId, string>();
  readonly #releases = new Map<ReleaseId, Manifest>();
  /** Releases sharing the folder of another kept release (twins.ts): twin -> owner of the folder. */
  readonly #twins = new Map<ReleaseId, ReleaseId>();
  readonly #staging = new Map<ReleaseId, Promise<Result<StageResult, string>>>();
  /** Releases being staged or left half-staged (a failed transfer, a crash): their folders. */
  readonly #areas = new Map<ReleaseId, StagingArea>();
  readonly #files: FileIndex;
  readonly #grants = new Grants();
  #state: State = { releases: {} };
  #lock: Promise<unknown> = Promise.resolve();
  /** The pruning after the last activation, while it runs (never rejects). */
  #pruned: Promise<unknown> = Promise.resolve();
  /** A first release's tree being created ahead of its manifest (prepare()). */
  #prepared: PreparedTree | undefined;

  private constructor(readonly opts: AgentOptions) {
    this.layout = new Layout(opts.dir);
    this.index = new ChunkIndex(this.layout);
    this.#files = new FileIndex(this.layout);
    this.app = new AppSupervisor(`${opts.dir}/app.json`, this.layout.appLog);
  }

  /** Opens (creating) an agent folder, cleans up after a crash and adopts a running app. */
  static async open(opts: AgentOptions): Promise<Agent> {
    const a = new Agent(opts);
    await a.index.load();
    const kept = await loadReleases(a.layout);
    const twins = await readTwins(a.layout);
    for (const [id, of] of twins) {
      if (!kept.has(id)) continue;
      if (kept.has(of) && !twins.has(of)) a.#twins.set(id, of);
      else {
        // Its folder's owner is gone (a crash while pruning): so is the twin.
        kept.delete(id);
        await removeRelease(a.layout, id);
      }
    }
    for (const [id, m] of kept) {
      a.#releases.set(id, m);
      a.index.addRelease(id, m);
    }
    // Half-staged releases: what their files hold is read back and hashed, and the intact
    // chunks are there for the next stage (of that release or another) and for neighbours.
    const areas = await StagingArea.reopen(
      a.layout,
      (id) => kept.has(id),
      (chunk, loc) => a.index.addStaged(chunk, loc),
    );
    for (const area of areas) a.#areas.set(area.id, area);
    // Each release assembled in a lightly used block group of ext4 (spread-inodes.ts); the
    // releases folder too, for assemblies in a temporary folder there.
    await mkdir(a.layout.releases, { recursive: true });
    await Promise.all([spreadInodes(a.layout.staging), spreadInodes(a.layout.releases)]);
    a.#files.rebuild(a.#releases);
    try {
      a.#state = JSON.parse(await readFile(a.layout.state, 'utf8')) as State;
    } catch {
      a.#state = { releases: {} };
    }
    await a.app.adopt();
    return a;
  }

  get token(): string {
    return this.opts.token;
  }

  /** A read-only grant to fetch chunks (neighbours of a relay), or undefined. */
  grant(token: string): Grant | undefined {
    return this.#grants.get(token);
  }

  /**
   * Lets neighbours fetch chunks from this agent with a read-only token; what this agent lacks
   * it pulls through from `sources` (the relay role).
   */
  addGrant(token: string, sources: ChunkSourceRef[], maxChunk: number, ttlMs = 3_600_000): void {
    this.#grants.add(token, { sources, maxChunk }, ttlMs);
  }

  /** The manifest of a kept release. */
  manifestOf(id: ReleaseId): Manifest | undefined {
    return this.#releases.get(id);
  }

  /** Ids among `ids` that this agent does not have. */
  missing(ids: ChunkId[]): ChunkId[] {
    return ids.filter((id) => !this.index.has(id));
  }

  /** Stores chunks pushed by the deployer (already verified by the frame decoder). */
  async putChunk(id: ChunkId, data: Buffer, wireBytes = data.length): Promise<void> {
    await this.index.put(id, data);
    this.index.noteWire(id, wireBytes);
  }

  /** Reads a chunk for a neighbour, pulling it through from upstream when absent. */
  async chunkFor(
    id: ChunkId,
    via: { sources: ChunkSourceRef[]; maxChunk: number },
  ): Promise<Buffer | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const data = await this.index.read(id);
      if (data) return data;
      const r = await this.index.ensure({ ids: [id], sources: via.sources, maxChunk: via.maxChunk });
      if (!r.ok) return undefined;
    }
    return undefined;
  }

  /** Prefetches a batch for a neighbour in one upstream request (relay pull-through). */
  async prefetch(ids: ChunkId[], via: { sources: ChunkSourceRef[]; maxChunk: number }): Promise<void> {
    await this.index.ensure({ ids, sources: via.sources, maxChunk: via.maxChunk });
  }

  /** Stages a release: fetch what is missing, assemble and verify `releases/<id>`. Idempotent. */
  stage(
    req: StageRequest,
    progress: (p: StageProgress) => void = () => {},
  ): Promise<Result<StageResult, string>> {
    const parsed = validateManifest(req.manifest);
    if (!parsed.ok) return Promise.resolve(err(`manifest refused: ${parsed.error}`));
    const manifest = parsed.value;
    const id = releaseIdOf(manifest);
    if (id !== req.release)
      return Promise.resolve(err(`release id ${req.release} does not match the manifest (${id})`));
    if (req.holder) this.#stagedBy.set(id, req.holder);
    let running = this.#staging.get(id);
    if (!running) {
      running = this.#stage(id, manifest, req.sources ?? [], progress, req.bases).finally(() =>
        this.#staging.delete(id),
      );
      this.#staging.set(id, running);
    }
    return running;
  }

  async #stage(
    id: ReleaseId,
    manifest: Manifest,
    sources: ChunkSourceRef[],
    progress: (p: StageProgress) => void,
    hints: Record<ChunkId, ChunkId[]> = {},
  ): Promise<Result<StageResult, string>> {
    const t0 = performance.now();
    // A relay may have pulled chunks through for a neighbour before its own stage began: they
    // still crossed the network for this deployment, so they count from the grant on.
    const since = Math.min(
      Date.now(),
      this.#grants.grantedAt > Date.now() - 3_600_000 ? this.#grants.grantedAt : Date.now(),
    );
    const all = chunksOf(manifest);
    const p: StageProgress = { chunksTotal: all.size, chunksReused: 0, chunksFetched: 0, bytesFetched: 0 };
    let bytesReused = 0;
    if (this.#releases.has(id)) {
      await this.#touch(id, 'stagedAt');
      return ok({
        ...p,
        chunksReused: all.size,
        release: id,
        alreadyStaged: true,
        bytesReused: 0,
        filesCopied: 0,
        ms: 0,
      });
    }
    trace(`stage ${id}: looking for a twin`);
    const twin = await makeTwin(this.layout, this.#releases, this.#twins, id, manifest, (r) =>
      this.#files.stats(r),
    );
    if (twin) {
      trace(`stage ${id}: twin of ${twin}`);
      await this.#dropArea(id);
      this.#releases.set(id, manifest);
      this.#files.rebuild(this.#releases);
      await this.#touch(id, 'stagedAt');
      let files = 0;
      for (const e of manifest.entries) if (e.type === 'file') files++;
      for (const size of all.values()) bytesReused += size;
      return ok({
        ...p,
        chunksReused: all.size,
        release: id,
        alreadyStaged: false,
        bytesReused,
        filesCopied: files,
        ms: performance.now() - t0,
      });
    }
    const missing: ChunkId[] = [];
    for (const [chunk, size] of all) {
      if (this.index.has(chunk)) {
        p.chunksReused++;
        bytesReused += size;
      } else missing.push(chunk);
    }
    progress({ ...p });
    const onChunk = (_: ChunkId, wire: number) => {
      p.chunksFetched++;
      p.bytesFetched += wire;
      progress({ ...p });
    };
    const area = await this.#area(id, manifest);
    // Files neither identical to a kept one nor written from an earlier version of themselves
    // are written from chunks: theirs go straight into the staging folder as they arrive.
    const elsewhere = new Set<string>();
    const based: { e: (typeof area.files)[number]; base: BaseFile }[] = [];
    if (this.#releases.size > 0)
      for (const e of area.files) {
        // Not stat'ed here: the assembly does, right before it links, and writes the file should
        // the app have changed it meanwhile (one stat per file, not two).
        if (await this.#files.indexed(e, this.#releases)) {
          elsewhere.add(e.path);
          continue;
        }
        const base = await this.#files.previous(e, this.#releases);
        if (!base) continue;
        elsewhere.add(e.path);
        based.push({ e, base });
      }
    area.plan(
      (e) => !elsewhere.has(e.path),
      (c) => !this.index.has(c),
    );
    trace(`stage ${id}: ${missing.length} of ${all.size} chunks to fetch`);
    const chunk = async (c: ChunkId): Promise<Buffer> => {
      let data = await this.index.read(c);
      if (!data) {
        // A reused copy was damaged (an app wrote into its release): fetch it again.
        const r = await this.index.ensure({
          ids: [c],
          sources,
          maxChunk: manifest.chunking.max,
          onChunk,
        });
        data = r.ok ? await this.index.read(c) : undefined;
      }
      if (!data) throw new Error(`chunk ${c.slice(0, 12)} is missing and no source has it`);
      return data;
    };
    // Changed files written from their earlier version start now, beside the transfer.
    const arrivals = new Arrivals(missing);
    const early = startEarlyWrites({ dir: area.dir, based, arrivals, chunk });
    // Set when the transfer returns; should it throw instead, the early writers stop too.
    let failure: string | undefined = 'the transfer stopped';
    try {
      failure = await fetchMissing({
        index: this.index,
        all,
        missing,
        sources,
        maxChunk: manifest.chunking.max,
        hints,
        place: (c, data) => area.place(c, data),
        onChunk: (c, wire) => {
          onChunk(c, wire);
          arrivals.arrived(c);
        },
      });
    } finally {
      arrivals.end(failure);
    }
    if (failure) {
      await Promise.allSettled(early.values());
      await area.close();
      return err(`staging ${id} failed: ${failure}`);
    }
    Object.assign(p, countReceived(this.index, all, since));
    p.chunksReused = all.size - p.chunksFetched;
    trace(`stage ${id}: fetched`);
    let filesCopied = 0;
    try {
      filesCopied = await assembleRelease({
        layout: this.layout,
        id,
        manifest,
        area,
        early,
        sameAs: (e) => this.#files.identical(e, this.#releases),
        baseOf: (e) => this.#files.previous(e, this.#releases),
        chunk,
      });
    } catch (e) {
      await Promise.allSettled(early.values());
      return err(`assembling ${id} failed: ${(e as Error).message}`);
    }
    trace(`stage ${id}: assembled`);
    this.#areas.delete(id);
    this.#releases.set(id, manifest);
    this.#files.rebuild(this.#releases);
    await this.index.settleRelease(id, manifest);
    await this.#touch(id, 'stagedAt');
    return ok({
      ...p,
      release: id,
      alreadyStaged: false,
      bytesReused,
      filesCopied,
      ms: performance.now() - t0,
    });
  }

  /**
   * Switches `current` to a staged release and restarts the app there. Serialized. Releases
   * beyond `keep` are pruned after the answer (as Capistrano-style tools do), next in the same
   * queue: the deployer does not wait for a removal, the next activation and status() do.
   */
  activate(req: ActivateRequest): Promise<Result<ActivateResult, string>> {
    const switched = this.#serial(() => this.#activate(req));
    void this.#serial(async () => {
      const r = await switched;
      if (!r.ok || !r.value.switched) return;
      // Set within microtasks of the switch, so before any later request is read.
      this.#pruned = this.#prune(req.keep ?? this.opts.keep ?? 5, [r.value.current, r.value.previous]).catch(
        // A removal that fails leaves a release too many, which the next activation prunes.
        (e: unknown) =>
          this.opts.warn?.(
            `pruning old releases after activating ${r.value.current} failed: ${(e as Error).message} (the next activation tries again)`,
          ),
      );
      await this.#pruned;
    });
    return switched.then((r) =>
      r.ok ? ok({ previous: r.value.previous, current: r.value.current, pid: r.value.pid }) : r,
    );
  }

  async #activate(req: ActivateRequest): Promise<Result<ActivateResult & { switched: boolean }, string>> {
    const previous = await currentRelease(this.layout);
    const target = req.release;
    if (req.expected !== undefined && req.expected !== previous)
      return err(
        `current release is ${previous ?? 'none'}, not the expected ${req.expected ?? 'none'}: another deployment moved this host`,
      );
    if (target !== null && !this.#releases.has(target)) return err(`release ${target} is not staged here`);
    const spec = req.app ?? this.app.spec;
    if (target === previous && (this.app.status().running || !spec)) {
      return ok({ previous, current: target, pid: this.app.status().pid, switched: false });
    }
    await switchCurrent(this.layout, target);
    await this.app.stop();
    let pid: number | null = null;
    const startedAt = performance.now();
    if (target !== null && spec) {
      pid = await this.app.start({
        cwd: this.layout.release(target),
        release: target,
        spec,
        extraEnv: { SLIPWAY_RELEASE: target, SLIPWAY_VERSION: this.#releases.get(target)?.version ?? '' },
      });
    }
    if (target !== null && pid !== null)
      this.validator.start({ release: target, pgid: pid, startedAt, request: req.validate });
    if (target !== null) await this.#touch(target, 'activatedAt');
    trace(`activate ${target}: switched`);
    return ok({ previous, current: target, pid, switched: true });
  }

  /** Goes back to `to`, or to the most recently active release before the current one. */
  async rollback(
    to?: ReleaseId | null,
    expected?: ReleaseId | null,
  ): Promise<Result<ActivateResult, string>> {
    if (to !== undefined) return this.activate({ release: to, expected });
    const cur = await currentRelease(this.layout);
    const prev = [...this.#releases.keys()]
      .filter((id) => id !== cur && this.#state.releases[id]?.activatedAt !== undefined)
      .sort(
        (a, b) => (this.#state.releases[b]?.activatedAt ?? 0) - (this.#state.releases[a]?.activatedAt ?? 0),
      )[0];
    if (!prev) return err('no earlier release to roll back to');
    return this.activate({ release: prev, expected });
  }

  async status(): Promise<{
    protocol: number;
    current: ReleaseId | null;
    releases: { id: ReleaseId; version: string; stagedAt?: number; activatedAt?: number }[];
    app: AppStatus;
    chunks: number;
    /** Chunks received but in no release yet (a transfer in progress or interrupted). */
    pooled: number;
    staging: ReleaseId[];
    lock: { holder: string; owner: string; expiresAt: number } | null;
  }> {
    // The releases as the last activation left them, its pruning included.
    await this.#pruned;
    return {
      protocol: DEPLOY_PROTOCOL,
      current: await currentRelease(this.layout),
      releases: [...this.#releases].map(([id, m]) => ({
        id,
        version: m.version,
        ...this.#state.releases[id],
      })),
      app: this.app.status(),
      chunks: this.index.size,
      pooled: this.index.pooled,
      staging: [...this.#staging.keys()],
      lock: this.lock.current,
    };
  }

  /** Stops the app (used when the agent shuts down gracefully). */
  async shutdown(): Promise<void> {
    await this.#pruned;
    await this.app.stop();
  }

  async #prune(keep: number, pinned: (ReleaseId | null)[]): Promise<void> {
    const { remove, staleHolders } = prunePlan({
      releases: [...this.#releases.keys()],
      usedAt: (id) => {
        const s = this.#state.releases[id];
        return Math.max(s?.activatedAt ?? 0, s?.stagedAt ?? 0);
      },
      keep,
      pinned,
      staging: this.#staging.keys(),
      stagedBy: this.#stagedBy,
      holder: this.lock.current?.holder,
      twins: this.#twins,
    });
    for (const id of staleHolders) this.#stagedBy.delete(id);
    // The state forgets them before their folders go: its fsync then does not wait behind the
    // journal's commit of a large release's deletion (30-70 ms of every activation's answer on the
    // deploy bench's 200 MB file, when it came last). A crash in between leaves kept releases
    // without timestamps, which are pruned first next time.
    for (const id of remove) delete this.#state.releases[id];
    if (remove.length > 0) await this.#saveState();
    for (const id of remove) {
      await removeRelease(this.layout, id);
      this.#releases.delete(id);
      this.#twins.delete(id);
      this.index.dropRelease(id);
      failpoint('agent:pruned');
    }
    const inRelease = new Set<ChunkId>();
    for (const m of this.#releases.values()) for (const c of chunksOf(m).keys()) inRelease.add(c);
    trace('prune: releases removed');
    const maxAge = this.opts.poolMaxAgeMs ?? 24 * 3_600_000;
    await this.index.prunePool((id) => inRelease.has(id), maxAge);
    // Staging folders nobody resumed within the same time go too.
    for (const [id, area] of this.#areas)
      if (!this.#staging.has(id) && (await area.age()) >= maxAge) await this.#dropArea(id);
    // Pool copies are gone and pruned releases forgotten: point every chunk at a kept release.
    for (const [id, m] of this.#releases) this.index.addRelease(id, m);
    this.#files.rebuild(this.#releases);
    trace('prune: done');
  }

  /** The staging folder of `id`: the one an earlier attempt left, or a new one. */
  async #area(id: ReleaseId, manifest: Manifest): Promise<StagingArea> {
    let area = this.#areas.get(id);
    if (!area) {
      // The tree prepared ahead serves a first release only: with a kept release, files linked
      // from it must not find an empty one in their place.
      const prepared = this.#prepared;
      this.#prepared = undefined;
      const usable = prepared && this.#releases.size === 0 ? prepared : undefined;
      area = await StagingArea.create(this.layout, id, manifest, usable);
      this.#areas.set(id, area);
      // Deleted when it was not moved into place (an empty no-op when it was).
      if (prepared) void prepared.discard();
    }
    return area;
  }

  /**
   * Starts creating a first release's folders and empty files from the outline of an artifact
   * whose manifest is still being made (prepared-tree.ts). Skipped, answering false, when this
   * host has a release or is staging one: its files will then be linked, not created.
   */
  prepare(outline: string[]): Result<boolean, string> {
    const checked = checkOutline(outline);
    if (!checked.ok) return checked;
    if (this.#releases.size > 0 || this.#staging.size > 0 || this.#areas.size > 0) return ok(false);
    if (this.#prepared) void this.#prepared.discard();
    this.#prepared = PreparedTree.start(this.layout.staging, outline);
    return ok(true);
  }

  async #dropArea(id: ReleaseId): Promise<void> {
    const area = this.#areas.get(id);
    if (!area) return;
    this.#areas.delete(id);
    this.index.dropStaging(id);
    await area.remove();
  }

  async #touch(id: ReleaseId, field: 'stagedAt' | 'activatedAt'): Promise<void> {
    const s = this.#state.releases[id] ?? { stagedAt: Date.now() };
    s[field] = Date.now();
    this.#state.releases[id] = s;
    await this.#saveState();
  }

  async #saveState(): Promise<void> {
    await writeAtomic(this.layout.state, JSON.stringify(this.#state));
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(fn, fn);
    this.#lock = next.catch(() => {});
    return next;
  }
}
