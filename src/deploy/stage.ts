/**
 * Staging: every target gets the release assembled and verified before any host switches.
 * Transfers run in parallel (bounded); with relaying, the first target of each region pulls from
 * the origin and its neighbours pull through it (falling back to the origin if it fails).
 */
import type { EventStream } from '../events.js';
import { failpoint } from '../util/failpoint.js';
import { err, ok, type Result } from '../util/result.js';
import { newToken } from './agent/grants.js';
import type { AgentClient, AgentStatus, DeployRequest } from './agent-client.js';
import type { ChunkSourceRef } from './chunk-client.js';
import type { Environment, Region, Target } from './environment.js';
import type { DeployEvent } from './events.js';
import type { Manifest } from './manifest.js';
import { diffManifest, type ManifestDelta } from './manifest-delta.js';
import { DEPLOY_PROTOCOL, protocolMismatch } from './protocol.js';
import type { StreamedTarget } from './stage-stream.js';
import type { ChunkId, ReleaseId } from './types.js';

export interface StagedTarget {
  target: Target;
  client: AgentClient;
  /** The release `current` pointed at before this deployment (null on a fresh host). */
  previous: ReleaseId | null;
  ok: boolean;
  reason?: string;
  bytesSent: number;
  /** Set once its activation succeeded: a rollback then expects it to run this release. */
  switched?: boolean;
  /** Its activation's outcome when it came with the staging (one exchange, stageInOne), and when. */
  activated?: { result: Result<unknown, string>; at: number; ms: number };
}

/**
 * The relay of each region with neighbours when relaying (the first target, granted to pull from
 * the origin), granted once when first asked: a streamed stage asks during the walk, stageAll
 * after it. Undefined without one (a failed grant is a warning: the neighbours use the origin).
 */
export function relayOf(o: {
  env: Environment;
  clients: Map<string, AgentClient>;
  origin: () => Promise<ChunkSourceRef>;
  events: EventStream<DeployEvent>;
  deploymentId: string;
  maxChunk: number;
}): (region: Region) => Promise<ChunkSourceRef | undefined> {
  const granted = new Map<string, Promise<ChunkSourceRef | undefined>>();
  const grant = async (region: Region): Promise<ChunkSourceRef | undefined> => {
    const [first, ...rest] = region.targets;
    if (!first || !o.env.relay || !rest.length) return undefined;
    const token = newToken();
    const r = await o.clients.get(first.name)!.grant(token, [await o.origin()], o.maxChunk);
    if (r.ok) return { url: first.agentUrl, token };
    o.events.emit({
      type: 'deploy-warning',
      deploymentId: o.deploymentId,
      message: `relay ${first.name} unavailable: ${r.error}`,
    });
    return undefined;
  };
  return (region) => {
    let r = granted.get(region.name);
    if (!r) {
      r = grant(region);
      granted.set(region.name, r);
    }
    return r;
  };
}

/** What an activation asks besides the release (rollout.ts `activation`). */
type ActivationOf = (target: Target) => Pick<DeployRequest, 'app' | 'keep' | 'validate'>;

/** Stages `release` on every target; failures are reported per target, never thrown. */
export async function stageAll(opts: {
  deploymentId: string;
  env: Environment;
  release: ReleaseId;
  manifest: Manifest;
  /** How many distinct chunks `manifest` has. */
  chunksTotal: number;
  /** The manifest last deployed from this artifact: an agent keeping it gets a delta. */
  previous?: { release: ReleaseId; manifest: Manifest };
  /** New chunks -> the chunks at their place in `previous`, for chunk deltas. */
  bases?: Record<ChunkId, ChunkId[]>;
  /**
   * The origin, started on first use: a redeploy in one exchange of an unchanged artifact needs
   * none (its start is ~6 ms of the deployer's critical path).
   */
  origin: () => Promise<ChunkSourceRef>;
  events: EventStream<DeployEvent>;
  clients: Map<string, AgentClient>;
  /**
   * Given when the rollout is one host: a redeploy to it (a delta against `previous`) is staged
   * and activated in one exchange, each asking this of its activation.
   */
  activateInOne?: ActivationOf;
  /** Hears each stage request handed to the network (the deployer then waits for the agents). */
  onRequestSent?: () => void;
  /** The whole manifest's part of a stage request, gzipped ahead (stage-body.ts). */
  opening?: Promise<Buffer>;
  /** The relay of each region, granted once (relayOf); made here when absent. */
  relays?: (region: Region) => Promise<ChunkSourceRef | undefined>;
  /** Hosts streamed their stage during the walk (stage-stream.ts), by target name. */
  streamed?: ReadonlyMap<string, StreamedTarget>;
}): Promise<StagedTarget[]> {
  const { env, events, deploymentId } = opts;
  const results: StagedTarget[] = [];
  /** Each target, with the relay its chunks come through first (then from the origin). */
  const jobs: { target: Target; relay?: ChunkSourceRef }[] = [];
  const neighbours: typeof jobs = [];
  const relays =
    opts.relays ?? relayOf({ ...opts, maxChunk: opts.manifest.chunking.max, origin: opts.origin });
  for (const region of env.regions) {
    const [first, ...rest] = region.targets;
    if (!first) continue;
    const relay = await relays(region);
    jobs.push({ target: first });
    for (const t of rest) neighbours.push({ target: t, relay });
  }
  // Relays first, so their own transfers start before the neighbours ask them for chunks.
  jobs.push(...neighbours);

  let delta: ManifestDelta | undefined;
  const deltaOf = () => {
    if (opts.previous) delta ??= diffManifest(opts.previous.manifest, opts.previous.release, opts.manifest);
    return delta;
  };

  let next = 0;
  async function worker(): Promise<void> {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      results.push(await stageOne(job.target, job.relay));
    }
  }

  async function stageOne(target: Target, relay: ChunkSourceRef | undefined): Promise<StagedTarget> {
    const client = opts.clients.get(target.name)!;
    const via = relay ? 'relay' : 'origin';
    const streamed = opts.streamed?.get(target.name);
    if (streamed) {
      const done = await stageStreamed(target, client, streamed, via);
      if (done) return done;
    }
    const sources = async () => (relay ? [relay, await opts.origin()] : [await opts.origin()]);
    if (opts.activateInOne) {
      const done = await stageInOne(target, client, sources, via, opts.activateInOne);
      if (done) return done;
    }
    // Asked before the origin starts and the request is made: its answer comes meanwhile.
    const status = client.status();
    return stageAlone(target, client, status, await sources(), via);
  }

  function failed(
    target: Target,
    client: AgentClient,
    reason: string,
    previous: ReleaseId | null = null,
  ): StagedTarget {
    events.emit({
      type: 'target-failed',
      deploymentId,
      target: target.name,
      at: Date.now(),
      phase: 'stage',
      reason,
    });
    return { target, client, previous, ok: false, reason, bytesSent: 0 };
  }

  /**
   * A redeploy staged and activated in one exchange (agent/deploy-exchange.ts): the delta against
   * the release last deployed, with no sources when nothing changed (the agent makes it from what
   * it has). Undefined when the agent refused it before changing anything (it is older, lacks the base or the chunks, another deployment holds it...):
   * the staging then goes on as before, which reports real trouble.
   */
  async function stageInOne(
    target: Target,
    client: AgentClient,
    sourcesOf: () => Promise<ChunkSourceRef[]>,
    via: 'origin' | 'relay',
    activation: ActivationOf,
  ): Promise<StagedTarget | undefined> {
    const d = deltaOf();
    if (!d) return undefined;
    const changed = d.upsert.length > 0 || d.remove.length > 0;
    const was = opts.previous!.manifest.chunking;
    const c = d.chunking;
    const bases = changed && opts.bases && Object.keys(opts.bases).length ? opts.bases : undefined;
    const sources = changed ? await sourcesOf() : undefined;
    const t0 = Date.now();
    events.emit({ type: 'target-staging', deploymentId, target: target.name, at: t0, source: via });
    const x = await client.deploy(
      {
        protocol: DEPLOY_PROTOCOL,
        release: opts.release,
        ...(opts.release === `${d.version}-${opts.release.slice(-12)}` ? {} : { version: d.version }),
        base: d.base,
        ...(c.min === was.min && c.avg === was.avg && c.max === was.max ? {} : { chunking: c }),
        ...(d.remove.length ? { remove: d.remove } : {}),
        ...(d.upsert.length ? { upsert: d.upsert } : {}),
        ...(bases ? { bases } : {}),
        ...(sources ? { sources: sources.map((s) => ({ url: s.url, token: s.token })) } : {}),
        ...activation(target),
      },
      {
        onProgress: (p) => events.emit({ type: 'stage-progress', deploymentId, target: target.name, ...p }),
        onSent: opts.onRequestSent,
        // No health gate: the rollout has nothing more to do on this host.
        last: !opts.env.health,
      },
    );
    if (x.kind === 'refused') return undefined;
    if (x.kind === 'broken') {
      // It may have switched before the answer broke off: back to what ran before if so (refused
      // with a 409, changing nothing, when it runs another release).
      const undone = await client.rollback(undefined, opts.release);
      return failed(
        target,
        client,
        `${x.message}${undone.ok ? ` (it had switched: back on ${undone.value.current})` : ''}`,
      );
    }
    const line = x.line;
    if (line.type === 'error' && !line.staged) return failed(target, client, line.message);
    const counts = line.type === 'done' ? line : line.staged!;
    const bytesSent = (counts.bytes ?? 0) + x.requestBytes;
    const at = staged(target, t0, bytesSent, {
      chunksReused: opts.chunksTotal - (counts.fetched ?? 0),
      chunksFetched: counts.fetched ?? 0,
      alreadyStaged: counts.already === true,
    });
    failpoint('deploy:stage');
    const previous =
      line.type === 'done' ? (line.previous === undefined ? d.base : line.previous) : line.staged!.previous;
    return {
      target,
      client,
      previous,
      ok: true,
      bytesSent,
      activated: { result: line.type === 'done' ? ok(undefined) : err(line.message), at, ms: at - t0 },
    };
  }

  /** Announces a host staged (begun at `since`); when. */
  function staged(
    target: Target,
    since: number,
    bytesSent: number,
    c: { chunksReused: number; chunksFetched: number; alreadyStaged: boolean },
  ): number {
    const at = Date.now();
    events.emit({
      type: 'target-staged',
      deploymentId,
      target: target.name,
      at,
      stagedMs: at - since,
      bytesSent,
      chunksReused: c.chunksReused,
      chunksFetched: c.chunksFetched,
      alreadyStaged: c.alreadyStaged,
    });
    return at;
  }

  /**
   * A host's streamed stage (stage-stream.ts), begun during the walk: announced as begun then,
   * its progress heard from now on. Undefined when its agent has no such endpoint (404): it is
   * then staged as before.
   */
  async function stageStreamed(
    target: Target,
    client: AgentClient,
    s: StreamedTarget,
    via: 'origin' | 'relay',
  ): Promise<StagedTarget | undefined> {
    events.emit({
      type: 'target-staging',
      deploymentId,
      target: target.name,
      at: s.startedAt,
      source: via,
      previous: null,
    });
    s.listen((p) => events.emit({ type: 'stage-progress', deploymentId, target: target.name, ...p }));
    opts.onRequestSent?.();
    const out = await s.outcome;
    if (out.kind === 'unsupported') return undefined;
    if (!out.result.ok) return failed(target, client, out.result.error);
    const r = out.result.value;
    const bytesSent = r.bytesFetched + r.requestBytes;
    staged(target, s.startedAt, bytesSent, r);
    failpoint('deploy:stage');
    return { target, client, previous: null, ok: true, bytesSent };
  }

  /** Stages on one host once its status (`asked`) has come; the rollout activates it. */
  async function stageAlone(
    target: Target,
    client: AgentClient,
    asked: Promise<Result<AgentStatus, string>>,
    sources: ChunkSourceRef[],
    via: 'origin' | 'relay',
  ): Promise<StagedTarget> {
    const fail = (reason: string, previous: ReleaseId | null = null) =>
      failed(target, client, reason, previous);
    const status = await asked;
    if (!status.ok) return fail(status.error);
    if (status.value.protocol !== DEPLOY_PROTOCOL)
      return fail(protocolMismatch(target.agentUrl, status.value.protocol));
    const previous = status.value.current;
    const keeps = opts.previous && status.value.releases.some((r) => r.id === opts.previous?.release);
    // (Should it have failed, the request makes its own.)
    const opening = keeps ? undefined : await opts.opening?.catch(() => undefined);
    const t0 = Date.now();
    events.emit({ type: 'target-staging', deploymentId, target: target.name, at: t0, source: via, previous });
    const r = await client.stage({
      release: opts.release,
      manifest: opts.manifest,
      delta: keeps ? deltaOf() : undefined,
      bases: keeps ? opts.bases : undefined,
      sources,
      opening,
      onProgress: (p) => events.emit({ type: 'stage-progress', deploymentId, target: target.name, ...p }),
      onSent: opts.onRequestSent,
    });
    if (!r.ok) return fail(r.error, previous);
    const bytesSent = r.value.bytesFetched + r.value.requestBytes;
    events.emit({
      type: 'target-staged',
      deploymentId,
      target: target.name,
      at: Date.now(),
      stagedMs: Date.now() - t0,
      bytesSent,
      chunksReused: r.value.chunksReused,
      chunksFetched: r.value.chunksFetched,
      alreadyStaged: r.value.alreadyStaged,
    });
    failpoint('deploy:stage');
    return { target, client, previous, ok: true, bytesSent };
  }

  await Promise.all(Array.from({ length: Math.min(env.stageParallelism, jobs.length) }, worker));
  return results;
}
