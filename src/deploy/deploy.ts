/** One deployment end to end: chunk the artifact, serve it, stage everywhere, roll out, record. */
import path from 'node:path';
import type { EventStream } from '../events.js';
import { err, ok, type Result } from '../util/result.js';
import { trace } from '../util/trace.js';
import { newToken } from './agent/grants.js';
import type { AgentClient } from './agent-client.js';
import { readArtifact } from './artifact.js';
import type { ChunkLookup } from './chunk-index.js';
import { ChunkLedger } from './chunk-ledger.js';
import { newDeploymentId } from './deployment-id.js';
import { clientsOf } from './env-clients.js';
import { type Environment, isLoneHost } from './environment.js';
import type { DeployEvent, DeployStatus, PlannedTarget } from './events.js';
import { DEFAULT_CHUNKING } from './fastcdc.js';
import { firstContact, partsExpected } from './first-contact.js';
import { releaseIdOf } from './manifest.js';
import { chunkBases } from './manifest-delta.js';
import { startOrigin } from './origin.js';
import type { Owner } from './owner.js';
import { activation, rollBack, rollout } from './rollout.js';
import { relayOf, type StagedTarget, stageAll } from './stage.js';
import { gzipPartLater, openingText } from './stage-body.js';
import { StreamedStages } from './stage-stream.js';
import { sendTwinChecks } from './twin-checks.js';
import type { ReleaseId } from './types.js';
import { MIN_DELTA_BASE } from './wire-delta.js';

export interface DeployOptions {
  env: Environment;
  version: string;
  /** Overrides the environment's artifact folder. */
  artifact?: string;
  events: EventStream<DeployEvent>;
  git?: { sha?: string; commitAt?: number };
  signal?: AbortSignal;
  deploymentId?: string;
  /** Agent clients carrying this deployment's lock (see exclusive.ts), by target name. */
  clients?: Map<string, AgentClient>;
  /** The deploying process, recorded so a later command can tell if it died. */
  owner?: Owner;
  /** Where the chunk ledger lives (state/paths.ts deployLedgerDir); without it every file is chunked. */
  ledgerDir?: string;
}

export interface DeployOutcome {
  deploymentId: string;
  status: Exclude<DeployStatus, 'running'>;
  release: ReleaseId;
  reason?: string;
}

/**
 * A walk of the artifact last deployed with at least this many entries asks the agents for the
 * twin check ahead (agent/twins.ts); below, the agent's check takes less than the request asking
 * for it (330 bytes, on an unchanged redeploy of one 200 MB file as much as rsync -z's whole
 * exchange). A first deploy from this artifact folder always asks: the answer says whether the
 * agent has releases, for the outline.
 */
const TWIN_CHECK_MIN_ENTRIES = 1000;

/**
 * How long the walk waits, before a large file it would chunk in segments on workers, for the
 * twin checks' answers to say whether a host will be streamed its parts (first-contact.ts
 * partsExpected). An agent answers at once; a worker takes longer than this to start anyway.
 */
const PARTS_WAIT_MS = 50;

/**
 * How long after the listing the walk yields after every file while the hosts' first contacts
 * are under way (artifact.ts hurry): an agent answers within milliseconds; one that does not (a
 * hung host, its request timing out) is not worth a turn of the event loop per file of the walk.
 */
const HURRY_MS = 100;

/** Runs a deployment; returns an error value only when the artifact cannot be read. */
export async function runDeployment(opts: DeployOptions): Promise<Result<DeployOutcome, string>> {
  const { env, events } = opts;
  const deploymentId = opts.deploymentId ?? newDeploymentId();
  const t0 = Date.now();
  const folder = opts.artifact ?? env.artifact;
  trace('deploy start');
  const clients = opts.clients ?? clientsOf(env);
  const ledger = await ChunkLedger.open(opts.ledgerDir, folder, DEFAULT_CHUNKING);
  trace('ledger open');
  // Each agent checks its current release's folder while this process walks the artifact: an
  // unchanged one is then staged as its twin without waiting for that check (agent/twins.ts).
  // Its answer comes before the check; an error (an older agent) changes nothing.
  const entriesBefore = ledger.last?.manifest.entries.length;
  const asked =
    entriesBefore === undefined || entriesBefore >= TWIN_CHECK_MIN_ENTRIES
      ? sendTwinChecks(clients)
      : undefined;
  const checking = asked?.checks;
  // A redeploy's checks are sent before the walk, whose listing holds this thread (twin-checks.ts).
  // Not a first deploy's: the answer then starts a streamed stage, which gained nothing from
  // starting sooner (measured: slower, the agent busier).
  if (asked && entriesBefore !== undefined) {
    await asked.sent;
    trace('twin checks sent');
  }
  // Hosts without a release (the twin check's answer says so) get their stage streamed while the
  // artifact is being chunked (stage-stream.ts, first-contact.ts) when its listing is worth it
  // (small files on average, or a small artifact: streamPays), or else, and from an agent before
  // that, its outline to create ahead; a redeploy of few entries asks no twin check, and neither
  // is sent.
  const streams = checking
    ? new StreamedStages(path.resolve(folder) + path.sep, opts.version, DEFAULT_CHUNKING, clients.size)
    : undefined;
  let walked: ChunkLookup | undefined;
  // Started once, when first needed: by a streamed stage during the walk (then serving chunks as
  // files are chunked, from the streams' lookup), by stage.ts, or below.
  let started: ReturnType<typeof startOrigin> | undefined;
  const origin = () =>
    (started ??= startOrigin({
      chunks: streams && (streams.active || !walked) ? streams.lookup : walked!,
      token: newToken(),
      host: env.origin.host,
      port: env.origin.port,
      publicUrl: env.origin.url,
      maxRate: env.origin.maxRate,
      compression: env.origin.compression,
    }));
  const relays = relayOf({ env, clients, origin, events, deploymentId, maxChunk: DEFAULT_CHUNKING.max });
  const preparing: Promise<unknown>[] = [];
  // First contacts under way: the walk yields more often meanwhile, so their answers are heard
  // (for HURRY_MS after the listing at most).
  let contacting = 0;
  let hurryUntil = 0;
  // The outline, once the listing is done: first contacts begin before (artifact.ts onStart).
  let outlined: (outline: () => string[]) => void = () => {};
  let unlisted: (e: Error) => void = () => {};
  const outlineLater = new Promise<() => string[]>((resolve, reject) => {
    outlined = resolve;
    unlisted = reject;
  });
  outlineLater.catch(() => {});
  const outline = () => outlineLater.then((o) => o());
  const art = await readArtifact(folder, opts.version, DEFAULT_CHUNKING, {
    ledger,
    onOutline: (o) => outlined(o),
    // Early only for a first deploy whose listing so far tells that it streams (stage-stream.ts):
    // a redeploy's hosts have releases, and its listing would only be slowed by the yields.
    onStart: (complete) => {
      if (!complete && !(entriesBefore === undefined && checking && streams?.paysSoon())) return false;
      hurryUntil = performance.now() + HURRY_MS;
      if (checking)
        for (const [name, client] of clients) {
          const contact = { env, name, client, outline, checking: checking.get(name), streams };
          contacting++;
          preparing.push(
            firstContact({ ...contact, origin, relays })
              .catch(() => {})
              .finally(() => contacting--),
          );
        }
      return true;
    },
    hurry: () => contacting > 0 && performance.now() < hurryUntil,
    onChunked: streams && ((entries, ready) => streams.chunked(entries, ready)),
    keep: streams && (() => streams.keep()),
    ahead: streams && (() => streams.ahead()),
    onChunking: streams && ((entries, at, chunks) => streams.growing(entries, at, chunks)),
    // A large file of a first release is chunked on this thread, in order, when a host will be
    // streamed its parts: the agent needs the other core more than the walk does (measured).
    inParts: streams && checking && (() => partsExpected(checking.values(), streams, PARTS_WAIT_MS)),
    // Not awaited: a head start only (an older agent's 404 changes nothing).
    onLargeEdits: (paths) => {
      for (const client of clients.values()) void client.copyAhead(paths);
    },
    // The same for a large file whose bytes moved (an older agent's 400 changes nothing either).
    onLargeShift: (file) => {
      for (const client of clients.values()) void client.copyAhead([], [file]);
    },
  });
  if (!art.ok) streams?.fail(art.error);
  // A listing that failed has no outline: first contacts that await one give up.
  unlisted(new Error('the artifact could not be listed'));
  await Promise.all(preparing);
  if (!art.ok) {
    await (await started?.catch(() => undefined))?.close();
    streams?.done();
    return err(art.error);
  }
  const { manifest, chunks } = art.value;
  walked = chunks;
  // A lone host is staged and activated in one exchange: no other host waits on its staging.
  const lone = isLoneHost(env);
  // Only a redeploy of entries as they were (the ledger's own list) to a lone host may stage
  // without it; otherwise it starts now, beside the release id's hashing, the chunk count and
  // the delta (a failed start is the staging's to report).
  if (!lone || ledger.last?.manifest.entries !== manifest.entries) origin().catch(() => {});
  // The entries' JSON kept: the ledger saves it below, and the stage requests send it.
  streams?.vouch(manifest.entries);
  const release = releaseIdOf(manifest, true);
  streams?.end(release);
  // Sent whole to every host not streamed to: compressed off this thread meanwhile (stage-body.ts).
  const allStreamed = streams?.started.size === clients.size;
  const opening = ledger.last || allStreamed ? undefined : gzipPartLater(openingText({ manifest }));
  opening?.catch(() => {});
  trace(`walked ${art.value.files} files (${art.value.reread} read)`);
  // Saved once a stage request has been sent: the deployer only waits for the agents then (the
  // agent reads and checks the manifest before it asks the origin for anything). Saved earlier,
  // its hashing and copying (20,000 files: a 4 MB body) held the request back.
  let saved: Promise<void> | undefined;
  const save = () => {
    saved ??= ledger.save({ release, manifest }).then(() => trace('ledger saved'));
    return saved;
  };
  // Set once the origin is up: an edit's deltas need their schema loaded (origin.ts).
  let expectDeltas: (() => void) | undefined;
  const unsubscribe = events.subscribe((e) => {
    if (e.type === 'target-staging' && expectDeltas) setImmediate(expectDeltas);
  });
  const targets: PlannedTarget[] = env.regions.flatMap((r) =>
    r.targets.map((t) => ({
      target: t.name,
      region: r.name,
      wave: env.waves.findIndex((w) => w.includes(r.name)) + 1,
      agent: t.agentUrl,
    })),
  );
  events.emit({
    type: 'deploy-started',
    deploymentId,
    kind: 'deploy',
    environment: env.name,
    version: opts.version,
    release,
    at: t0,
    artifactBytes: art.value.bytes,
    files: art.value.files,
    chunksTotal: chunks.size,
    chunkMs: art.value.chunkMs,
    relay: env.relay,
    waves: env.waves,
    targets,
    gitSha: opts.git?.sha,
    gitCommitAt: opts.git?.commitAt,
    owner: opts.owner,
  });
  let served: Awaited<typeof started>;
  let status: Exclude<DeployStatus, 'running'> = 'success';
  let reason: string | undefined;
  let staged: StagedTarget[] = [];
  try {
    const previous = ledger.last;
    const bases = previous ? chunkBases(previous.manifest, manifest, MIN_DELTA_BASE) : undefined;
    // (A failed start is the staging's to report.)
    if (bases && Object.keys(bases).length)
      expectDeltas = () =>
        void origin().then(
          (o) => o.expectDeltas(),
          () => {},
        );
    staged = await stageAll({
      deploymentId,
      env,
      release,
      manifest,
      chunksTotal: chunks.size,
      previous,
      bases,
      origin,
      events,
      clients,
      activateInOne: lone ? (t) => activation(env, t) : undefined,
      opening,
      relays,
      streamed: streams?.started,
      onRequestSent: () => {
        trace('stage request sent');
        setImmediate(save);
      },
    });
    trace('staged');
    const failed = staged.filter((s) => !s.ok);
    if (opts.signal?.aborted) {
      status = 'interrupted';
      reason = 'interrupted while staging; no host switched';
      // A host activated along with its staging goes back.
      const switched = staged.filter((s) => s.activated);
      for (const s of switched) s.switched = s.activated!.result.ok;
      if (switched.length) await rollBack({ deploymentId, events, release, env }, switched);
    } else if (failed.length) {
      status = 'failed';
      reason = `staging failed on ${failed.map((f) => f.target.name).join(', ')} (no host switched): ${failed[0]!.reason}`;
    } else {
      const r = await rollout({ deploymentId, env, release, events, staged, signal: opts.signal });
      trace('rolled out');
      if (r.outcome !== 'Successful') {
        status = opts.signal?.aborted ? 'interrupted' : 'rolled-back';
        reason = `${r.outcome === 'Failed' ? 'health gate failed' : 'health gate inconclusive'}: ${r.reason}; rolled back ${r.activated.length} host(s)`;
      }
    }
  } finally {
    served = await started?.catch(() => undefined);
    await served?.close();
    streams?.done();
    unsubscribe();
    await save();
  }
  events.emit({
    type: 'deploy-finished',
    deploymentId,
    at: Date.now(),
    status,
    durationMs: Date.now() - t0,
    reason,
    bytesSent: staged.reduce((s, t) => s + t.bytesSent, 0),
    originEgressBytes: served?.egressBytes ?? 0,
  });
  return ok({ deploymentId, status, release, reason });
}
