/**
 * What `slipway run --queue` needs before its run starts: the settings checked (a remote cache,
 * the signing key, a commit), the queue reachable (or one warning and a local run), and then a
 * factory for the run's `QueueRunner`. After the run, `downloadOutputs` restores what workers
 * built into this checkout.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { cacheSettings } from '../cache/config.js';
import type { TaskCache, TaskHash } from '../cache/types.js';
import type { Capacity } from '../config/capacity.js';
import type { Pipeline } from '../config/types.js';
import type { RemoteRunners } from '../exec/remote-runners.js';
import type { TaskGraph } from '../graph/graph.js';
import type { RunSummary } from '../report/summary.js';
import { UsageError } from '../util/usage-error.js';
import { announcement } from './announce.js';
import { pipelineDigest } from './pipeline-digest.js';
import { parseQueueAddress, type QueueAddress, queueKey } from './queue-address.js';
import { connectQueue } from './queue-connection.js';
import { probeRedis, QueueRunner } from './queue-runner.js';

/**
 * Dispatch capacity of a scale-out run: every ready task becomes a job at once, so the queue's
 * length is the fleet's backlog (what the autoscaler watches) and free workers never wait on the
 * coordinator. The fleet, not the coordinator, bounds what runs at once.
 */
const FLEET_CAPACITY: Capacity = { slots: 100_000, cpu: 100_000, memory: Number.MAX_SAFE_INTEGER };

export interface ScaleOut extends RemoteRunners {
  address: QueueAddress;
  open(run: Parameters<RemoteRunners['open']>[0]): Promise<QueueRunner>;
  /** `run --queue -c N`: the coordinator takes jobs too, with N slots, as worker "coordinator". */
  localWorker(slots: number): Promise<{ close(force?: boolean): Promise<void> }>;
  /** Closes the connections opened ahead when no run took them over (`open` was not called). */
  close(): Promise<void>;
}

/**
 * Checks a scale-out run's settings (usage errors, exit 2) and reaches the queue. Undefined when
 * Redis is unreachable: the caller warns once and runs locally.
 */
export async function prepareScaleOut(o: {
  queue: string;
  /** Where the queue URL came from, for messages ("--queue" or "slipway.yml scaleOut.queue"). */
  from: string;
  pipeline: Pipeline;
  env: NodeJS.ProcessEnv;
  cache: boolean;
  /** HOST:PORT for the coordinator's /metrics. */
  metrics?: string;
  warn(message: string): void;
}): Promise<ScaleOut | undefined> {
  const address = parseQueueAddress(o.queue, o.from);
  if (!o.cache)
    throw new UsageError(
      `${o.from} needs the cache: workers hand outputs over through it`,
      'drop --no-cache',
    );
  const remote = cacheSettings(o.pipeline, o.env).remote;
  if (!remote?.url)
    throw new UsageError(
      `${o.from} needs a remote cache, and none is set: cache.remote.url in ${path.basename(o.pipeline.file)} (or SLIPWAY_REMOTE_CACHE_URL)`,
      'workers restore inputs and save outputs there; start one (e.g. turborepo-remote-cache) and set cache.remote.url and cache.remote.team',
    );
  if (!remote.team)
    throw new UsageError(
      `${o.from} needs the remote cache's team: cache.remote.team (or SLIPWAY_REMOTE_CACHE_TEAM) is not set`,
      'set the same team for the coordinator and the workers',
    );
  const key = queueKey(o.env);
  const repo = git(o.pipeline.root, ['rev-parse', '--show-toplevel']);
  const commit = repo ? git(o.pipeline.root, ['rev-parse', 'HEAD']) : undefined;
  if (!repo || !commit)
    throw new UsageError(
      `${o.from} needs a git repository with a commit: workers build the coordinator's commit`,
      'run it in a clone of the repository (git init; git commit)',
    );
  const trouble = await probeRedis(address);
  if (trouble) {
    o.warn(`scale-out queue ${address.display} is unreachable (${trouble}): running every task here`);
    return undefined;
  }
  const file = path.relative(repo, o.pipeline.file);
  const digest = pipelineDigest(o.pipeline);
  // Connected now, while the run still plans: its first wave of jobs does not wait for it, and the
  // workers hear of the commit (announce.ts) and check it out meanwhile.
  const connecting = connectQueue(address, announcement(key, { commit, file }));
  connecting.catch(() => {});
  let taken = false;
  return {
    address,
    capacity: FLEET_CAPACITY,
    localWorker: async (slots) => {
      const { startWorker } = await import('./worker.js');
      return startWorker({ address, key, repo, slots, name: 'coordinator', env: o.env, log: () => {} });
    },
    close: async () => {
      if (!taken) await (await connecting.catch(() => undefined))?.close();
    },
    open: async (run) => {
      taken = true;
      return QueueRunner.open({
        ...run,
        connection: await connecting,
        address,
        key,
        commit,
        file,
        pipelineDigest: digest,
        ...(o.env.SLIPWAY_DISPATCH_TRACE ? { trace: o.env.SLIPWAY_DISPATCH_TRACE } : {}),
      });
    },
  };
}

function git(cwd: string, args: string[]): string | undefined {
  try {
    return (
      execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() ||
      undefined
    );
  } catch {
    return undefined;
  }
}

/**
 * Restores the outputs of every task a worker ran into this checkout, in dependency order, so it
 * looks as after a local run. Returns the tasks whose outputs could not be restored.
 */
export async function downloadOutputs(o: {
  cache: TaskCache;
  pipeline: Pipeline;
  graph: TaskGraph;
  summary: RunSummary;
}): Promise<string[]> {
  const byId = new Map(o.summary.tasks.map((t) => [t.id, t]));
  const hashes = new Map<string, TaskHash>();
  for (const t of o.summary.tasks) if (t.hash) hashes.set(t.id, t.hash as TaskHash);
  const missing: string[] = [];
  for (const id of o.graph.topo()) {
    const t = byId.get(id);
    const task = o.pipeline.tasks.get(id);
    // "coordinator" too: its in-process worker builds in a worktree, not in this checkout.
    if (!t || !task || t.status !== 'success' || !t.worker || !task.cache) continue;
    const deps = new Map(
      o.graph.deps(id).flatMap((d) => (hashes.has(d) ? [[d, hashes.get(d)!] as const] : [])),
    );
    const found = await o.cache.lookup(task, deps, { restore: true });
    if (!found.hit) missing.push(id);
  }
  return missing;
}
