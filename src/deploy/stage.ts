/**
 * Staging: every target gets the release assembled and verified before any host switches.
 * Transfers run in parallel (bounded); with relaying, the first target of each region pulls from
 * the origin and its neighbours pull through it (falling back to the origin if it fails).
 */
import type { EventStream } from '../events.js';
import { failpoint } from '../util/failpoint.js';
import { newToken } from './agent/grants.js';
import type { AgentClient } from './agent-client.js';
import type { ChunkSourceRef } from './chunk-client.js';
import type { Environment, Target } from './environment.js';
import type { DeployEvent } from './events.js';
import type { Manifest } from './manifest.js';
import { diffManifest, type ManifestDelta } from './manifest-delta.js';
import { DEPLOY_PROTOCOL, protocolMismatch } from './protocol.js';
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
}

/** Stages `release` on every target; failures are reported per target, never thrown. */
export async function stageAll(opts: {
  deploymentId: string;
  env: Environment;
  release: ReleaseId;
  manifest: Manifest;
  /** The manifest last deployed from this artifact: an agent keeping it gets a delta. */
  previous?: { release: ReleaseId; manifest: Manifest };
  /** New chunks -> the chunks at their place in `previous`, for chunk deltas. */
  bases?: Record<ChunkId, ChunkId[]>;
  origin: ChunkSourceRef;
  events: EventStream<DeployEvent>;
  clients: Map<string, AgentClient>;
}): Promise<StagedTarget[]> {
  const { env, events, deploymentId } = opts;
  const results: StagedTarget[] = [];
  const jobs: { target: Target; sources: ChunkSourceRef[]; via: 'origin' | 'relay' }[] = [];
  const neighbours: typeof jobs = [];
  for (const region of env.regions) {
    const [first, ...rest] = region.targets;
    if (!first) continue;
    let sources: ChunkSourceRef[] = [opts.origin];
    if (env.relay && rest.length) {
      const token = newToken();
      const granted = await opts.clients
        .get(first.name)!
        .grant(token, [opts.origin], opts.manifest.chunking.max);
      if (granted.ok) sources = [{ url: first.agentUrl, token }, opts.origin];
      else
        events.emit({
          type: 'deploy-warning',
          deploymentId,
          message: `relay ${first.name} unavailable: ${granted.error}`,
        });
    }
    jobs.push({ target: first, sources: [opts.origin], via: 'origin' });
    for (const t of rest)
      neighbours.push({ target: t, sources, via: sources.length > 1 ? 'relay' : 'origin' });
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
      results.push(await stageOne(job.target, job.sources, job.via));
    }
  }

  async function stageOne(
    target: Target,
    sources: ChunkSourceRef[],
    via: 'origin' | 'relay',
  ): Promise<StagedTarget> {
    const client = opts.clients.get(target.name)!;
    const fail = (reason: string, previous: ReleaseId | null = null): StagedTarget => {
      events.emit({
        type: 'target-failed',
        deploymentId,
        target: target.name,
        at: Date.now(),
        phase: 'stage',
        reason,
      });
      return { target, client, previous, ok: false, reason, bytesSent: 0 };
    };
    const status = await client.status();
    if (!status.ok) return fail(status.error);
    if (status.value.protocol !== DEPLOY_PROTOCOL)
      return fail(protocolMismatch(target.agentUrl, status.value.protocol));
    const previous = status.value.current;
    const keeps = opts.previous && status.value.releases.some((r) => r.id === opts.previous?.release);
    const t0 = Date.now();
    events.emit({ type: 'target-staging', deploymentId, target: target.name, at: t0, source: via, previous });
    const r = await client.stage({
      release: opts.release,
      manifest: opts.manifest,
      delta: keeps ? deltaOf() : undefined,
      bases: keeps ? opts.bases : undefined,
      sources,
      onProgress: (p) => events.emit({ type: 'stage-progress', deploymentId, target: target.name, ...p }),
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
