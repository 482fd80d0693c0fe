/**
 * The agent's operations, independent of HTTP (server.ts maps routes onto them): stage
 * (stager.ts), activate and roll back (activation.ts, pruning after each in pruning.ts), serve
 * chunks to the deployer and to neighbours, status (status.ts). Opening an agent folder sweeps
 * what a stop or crash left (startup-sweep.ts).
 */
import type { Result } from '../../util/result.js';
import type { ChunkSourceRef } from '../chunk-client.js';
import type { Manifest } from '../manifest.js';
import type { ChunkId, ReleaseId } from '../types.js';
import { Activation } from './activation.js';
import { AppSupervisor } from './app.js';
import { AppValidator } from './app-validation.js';
import { ChunkIndex } from './chunk-index.js';
import { CopiesAhead } from './copies-ahead.js';
import { DeployLock } from './deploy-lock.js';
import { FileIndex } from './file-index.js';
import { type Grant, Grants } from './grants.js';
import type { KeptReleases } from './kept-releases.js';
import { Layout } from './layout.js';
import type {
  ActivateRequest,
  ActivateResult,
  StageProgress,
  StageRequest,
  StageResult,
} from './operations.js';
import { pruneReleases } from './pruning.js';
import { ReleaseTimes } from './release-times.js';
import { currentRelease } from './releases.js';
import { Stager } from './stager.js';
import { type SweptFolder, sweepAtStartup } from './startup-sweep.js';
import { type AgentStatus, agentStatus } from './status.js';
import type { Streamed } from './stream-stage.js';
import { precheckTwin } from './twins.js';

export interface AgentOptions {
  dir: string;
  token: string;
  keep?: number;
  /** How long pool chunks and staging folders of unfinished transfers are kept for a resume. */
  poolMaxAgeMs?: number;
  /** Told what went wrong off a request's path (a pruning that failed after its answer). */
  warn?: (message: string) => void;
  /** How long a tree prepared ahead of a first release keeps its files open (stager.ts). */
  preparedOpenMs?: number;
}

export class Agent {
  readonly app: AppSupervisor;
  readonly lock = new DeployLock();
  /** Start-up time, memory and CPU of the app after each activation (app-validation.ts). */
  readonly validator = new AppValidator();
  readonly #kept: KeptReleases;
  readonly #grants = new Grants();
  readonly #stager: Stager;
  readonly #activation: Activation;
  readonly #times: ReleaseTimes;
  readonly #ahead: CopiesAhead;

  private constructor(
    readonly opts: AgentOptions,
    readonly layout: Layout,
    readonly index: ChunkIndex,
    swept: SweptFolder,
    times: ReleaseTimes,
  ) {
    this.#times = times;
    this.#ahead = new CopiesAhead(layout.staging);
    this.app = new AppSupervisor(`${opts.dir}/app.json`, layout.appLog);
    const files = new FileIndex(layout);
    files.rebuild(swept.manifests);
    const kept = { manifests: swept.manifests, twins: swept.twins, files };
    this.#kept = kept;
    const stager = new Stager({
      layout,
      index,
      kept,
      times,
      grants: this.#grants,
      areas: swept.areas,
      preparedOpenMs: opts.preparedOpenMs,
      ahead: this.#ahead,
    });
    this.#stager = stager;
    this.#activation = new Activation({
      layout,
      kept,
      times,
      app: this.app,
      validator: this.validator,
      keep: opts.keep,
      warn: opts.warn,
      prune: (keep, pinned) =>
        pruneReleases({
          layout,
          index,
          kept,
          times,
          stager,
          holder: this.lock.current?.holder,
          keep,
          pinned,
          maxAgeMs: opts.poolMaxAgeMs ?? 24 * 3_600_000,
        }),
    });
  }

  /** Opens (creating) an agent folder, cleans up after a crash and adopts a running app. */
  static async open(opts: AgentOptions): Promise<Agent> {
    const layout = new Layout(opts.dir);
    const index = new ChunkIndex(layout);
    const swept = await sweepAtStartup(layout, index);
    const a = new Agent(opts, layout, index, swept, await ReleaseTimes.load(layout.state));
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
    // A relay from now on: what it receives is kept in memory for its neighbours (chunk-index.ts).
    this.index.servesNeighbours();
  }

  /** How many releases this agent keeps now (a pruning under way may leave fewer). */
  get releaseCount(): number {
    return this.#kept.manifests.size;
  }

  /**
   * Settles once the pruning after the last activation is done (it never rejects): what a
   * staging from kept releases waits for, lest it link to a folder being removed.
   */
  pruned(): Promise<unknown> {
    return this.#activation.pruned();
  }

  /** The release `current` points at (null: none). */
  current(): Promise<ReleaseId | null> {
    return currentRelease(this.layout);
  }

  /** The manifest of a kept release. */
  manifestOf(id: ReleaseId): Manifest | undefined {
    return this.#kept.manifests.get(id);
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
    this.index.servesNeighbours();
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
    this.index.servesNeighbours();
    await this.index.ensure({ ids, sources: via.sources, maxChunk: via.maxChunk });
  }

  /** Stages a release: fetch what is missing, assemble and verify `releases/<id>`. Idempotent. */
  stage(req: StageRequest, progress?: (p: StageProgress) => void): Promise<Result<StageResult, string>> {
    return this.#stager.stage(req, progress);
  }

  /**
   * Stages a release from what this agent has only (a kept release, or a twin of one), without
   * fetching; undefined when it cannot (stager.ts).
   */
  stageLocal(req: StageRequest): Promise<Result<StageResult, string> | undefined> {
    return this.#stager.stageLocal(req);
  }

  /** Makes a finished streamed stage's folder the release's staging and assembles it (stager.ts). */
  stageStreamed(s: Streamed, holder?: string): Promise<Result<StageResult, string>> {
    return this.#stager.stageStreamed(s, holder);
  }

  /** Starts creating a first release's tree from its outline ahead of the manifest (stager.ts). */
  prepare(outline: string[]): Result<boolean, string> {
    return this.#stager.prepare(outline);
  }

  /**
   * Starts copying the earlier version of each of `paths` (large files a deployer found changed
   * in place, before it chunks them) for the staging that will write them (copies-ahead.ts); how
   * many copies started. A path without an untouched earlier version is skipped. `shifted`: large
   * files whose length changed, copied with their predicted shift (copies-ahead.ts Shift); one
   * past the earlier version's end is skipped.
   */
  async copyAhead(
    paths: string[],
    shifted: { path: string; at: number; from: number }[] = [],
  ): Promise<number> {
    await this.#activation.pruned();
    let started = 0;
    for (const rel of paths) {
      const base = await this.#kept.files.previousAt(rel, this.#kept.manifests);
      if (base && this.#ahead.start(base)) started++;
    }
    for (const { path: rel, at, from } of shifted) {
      const base = await this.#kept.files.previousAt(rel, this.#kept.manifests);
      if (base && this.#ahead.start(base, { at, from })) started++;
    }
    return started;
  }

  /**
   * Switches `current` to a staged release and restarts the app there. Serialized; releases
   * beyond `keep` are pruned after the answer (activation.ts).
   */
  activate(req: ActivateRequest): Promise<Result<ActivateResult, string>> {
    return this.#activation.activate(req);
  }

  /** Goes back to `to`, or to the most recently active release before the current one. */
  rollback(to?: ReleaseId | null, expected?: ReleaseId | null): Promise<Result<ActivateResult, string>> {
    return this.#activation.rollback(to, expected);
  }

  /**
   * Checks now that the current release's folder is as assembled, so that a stage request of the
   * same content (an unchanged redeploy) soon after need not (twins.ts). Whether it is untouched;
   * false without a current release.
   */
  async precheckTwin(): Promise<boolean> {
    await this.#activation.pruned();
    const current = await currentRelease(this.layout);
    const manifest = current && this.#kept.manifests.get(current);
    if (!current || !manifest) return false;
    return precheckTwin(this.layout, this.#kept.twins, current, manifest, (r) => this.#kept.files.stats(r));
  }

  /** The agent's status, once the last activation's pruning is done. */
  async status(): Promise<AgentStatus> {
    // The releases as the last activation left them, its pruning included.
    await this.#activation.pruned();
    return agentStatus({
      layout: this.layout,
      kept: this.#kept,
      times: this.#times,
      app: this.app,
      index: this.index,
      staging: this.#stager.running(),
      lock: this.lock,
    });
  }

  /** Stops the app and closes the chunk pool's files (used when the agent shuts down gracefully). */
  async shutdown(): Promise<void> {
    await this.#activation.pruned();
    await this.#stager.stop();
    await this.#ahead.stop();
    await this.app.stop();
    await this.index.close();
  }
}
