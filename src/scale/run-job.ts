/**
 * One job on a worker, from signed payload to typed result: check the signature and that the run
 * is alive, check out the commit, load the pipeline there and compare digests, restore the
 * dependencies' outputs from the remote cache (checking each cache key against the
 * coordinator's), run the command with the local runner, save the outputs to the remote cache
 * before reporting success (so dependents anywhere can restore them); the worker's slot is free
 * again as soon as the command ends (`ran`). Never throws for the job's own trouble: every way it
 * can end is a `JobResult`.
 */
import path from 'node:path';
import { createTaskCache, type TaskCache, type TaskHash } from '../cache/index.js';
import { ConfigError } from '../config/diagnostic.js';
import { loadPipeline } from '../config/load.js';
import type { Pipeline } from '../config/types.js';
import { EventStream, type RunEvent } from '../events.js';
import { redactor } from '../exec/redact.js';
import type { TaskRunner } from '../exec/task-runner.js';
import { TaskGraph } from '../graph/graph.js';
import { Checkout } from '../state/checkout.js';
import { cpuWaitMs } from './cpu-wait.js';
import { type JobPayload, type JobResult, type JobStages, verifyJob } from './job.js';
import { pipelineDigest } from './pipeline-digest.js';
import type { Worktrees } from './worktree.js';

export interface JobContext {
  worker: string;
  key: string;
  worktrees: Worktrees;
  runner: TaskRunner;
  /** The worker's own environment: secrets come from here, never from the queue. */
  env: NodeJS.ProcessEnv;
  /**
   * Whether the coordinator of a run is still alive (its heartbeat key exists); `queuedAt` (Redis'
   * clock) lets a job queued a moment ago answer without a round trip.
   */
  alive(runId: string, queuedAt?: number): Promise<boolean>;
  /** Redis' clock (redis-clock.ts): the job's stages are stamped with it. */
  now(): number;
  warn(message: string): void;
}

interface Opened {
  pipeline: Pipeline;
  graph: TaskGraph;
  cache: TaskCache;
  digest: string;
}

/** Pipelines and caches of the commits this worker has built, one per worktree pipeline file. */
const opened = new Map<string, Promise<Opened>>();

/** What checking out a commit and opening its pipeline needs of the worker. */
type PrepareContext = Pick<JobContext, 'worktrees' | 'env' | 'warn'>;

function open(file: string, ctx: PrepareContext): Promise<Opened> {
  let p = opened.get(file);
  if (!p) {
    p = (async () => {
      const pipeline = loadPipeline(file);
      const events = new EventStream<RunEvent>();
      events.subscribe((e) => {
        if (e.type === 'warning') ctx.warn(e.message);
      });
      const cache = await createTaskCache({
        pipeline,
        events,
        env: ctx.env,
        checkout: new Checkout(pipeline.root),
      });
      return { pipeline, graph: TaskGraph.fromPipeline(pipeline), cache, digest: pipelineDigest(pipeline) };
    })();
    opened.set(file, p);
    p.catch(() => opened.delete(file));
  }
  return p;
}

/**
 * Checks out `commit` and opens the pipeline `file` there (both kept for its jobs), ahead of them:
 * a run announced it (announce.ts). Never throws; undefined when done, else why not (its first
 * job then tries again and fails with the reason as its result).
 */
export async function prepareCommit(
  ctx: PrepareContext,
  commit: string,
  file: string,
): Promise<string | undefined> {
  const tree = await ctx.worktrees.ensure(commit);
  if (!tree.ok) return 'missing' in tree ? `this clone does not have commit ${commit}` : tree.error;
  try {
    await open(path.join(tree.dir, file), ctx);
    return undefined;
  } catch (e) {
    return e instanceof ConfigError ? `the pipeline file at ${commit} does not load` : String(e);
  }
}

export interface JobIo {
  data: unknown;
  /** When the worker took the job off the queue (ctx.now()). */
  takenAt: number;
  /** cpuWaitMs() when the worker asked for the job (cpu-wait.ts). */
  cpuWaitBefore?: number;
  output(stream: 'stdout' | 'stderr', text: string): void;
  /** Aborted when the worker shuts down. */
  signal: AbortSignal;
  /** Told once the job passed its checks and its command's process started. */
  started?(payload: JobPayload): void;
  /**
   * Told once the command ended (or the job ended without one): its slot is free while the
   * outputs are still being saved; the result, which the coordinator waits for, comes after.
   * The save waits for what it returns: the worker's next command started first.
   */
  ran?(durationMs?: number): Promise<void> | undefined;
}

export async function runJob(ctx: JobContext, io: JobIo): Promise<JobResult> {
  const startedAt = Date.now();
  const t0 = performance.now();
  const worker = ctx.worker;
  const stages: Omit<JobStages, 'done'> = { taken: io.takenAt };
  const result = (r: Partial<JobResult>): JobResult => ({
    worker,
    exitCode: null,
    durationMs: performance.now() - t0,
    cpuSeconds: 0,
    peakRssBytes: 0,
    startedAt,
    stages: { ...stages, done: ctx.now() },
    ...r,
  });
  const refuse = (why: string) => result({ failure: { reason: 'job-refused', why, worker } });

  const verified = verifyJob(ctx.key, io.data);
  if (!verified.ok) return refuse(verified.why);
  const job = verified.payload;
  try {
    const tree = await ctx.worktrees.ensure(job.commit);
    if (!tree.ok) {
      if ('missing' in tree)
        return result({ failure: { reason: 'commit-missing', commit: job.commit, worker } });
      return refuse(`cannot check out ${job.commit}: ${tree.error}`);
    }
    const file = path.join(tree.dir, job.file);
    let o: Opened;
    try {
      o = await open(file, ctx);
    } catch (e) {
      return refuse(
        e instanceof ConfigError ? `the pipeline file at ${job.commit} does not load` : String(e),
      );
    }
    if (o.digest !== job.pipelineDigest)
      return refuse(
        `pipeline digest differs (the coordinator's ${job.file} is not the one at ${job.commit})`,
      );
    const task = o.pipeline.tasks.get(job.taskId);
    if (!task) return refuse(`no task "${job.taskId}" in ${job.file} at ${job.commit}`);

    // Dependencies first, in dependency order: each one's key is computed here from its own
    // dependencies' keys, compared with the coordinator's, and its outputs restored.
    const hashes = new Map<string, TaskHash>();
    const depsOf = (id: string) =>
      new Map(o.graph.deps(id).flatMap((d) => (hashes.has(d) ? [[d, hashes.get(d)!] as const] : [])));
    const upstream = o.graph
      .select([job.taskId])
      .topo()
      .filter((id) => id !== job.taskId);
    for (const id of upstream) {
      const dep = o.pipeline.tasks.get(id)!;
      const found = await o.cache.lookup(dep, depsOf(id), { restore: true });
      hashes.set(id, found.hash);
      const expected = job.deps[id];
      if (expected && expected !== found.hash)
        return refuse(`inputs of "${id}" differ from the coordinator's (uncommitted changes there?)`);
      if (!found.hit && dep.cache && expected)
        return refuse(`outputs of "${id}" (${found.hash}) are not in the remote cache`);
    }
    const own = await o.cache.lookup(task, depsOf(job.taskId), { restore: false });
    if (own.hash !== job.hash)
      return refuse(`inputs of "${job.taskId}" differ from the coordinator's (uncommitted changes there?)`);

    // Checked last, just before the command starts: a run whose coordinator is gone starts
    // nothing more (a running command is stopped by the worker's watch).
    if (!(await ctx.alive(job.runId, job.queuedAt)))
      return refuse(`run ${job.runId} is over (its coordinator stopped)`);
    const redact = redactor(task.secrets.map((s) => ctx.env[s]).filter((v): v is string => !!v));
    const captured: string[] = [];
    stages.checked = ctx.now();
    const attempt = await ctx.runner.run({
      taskId: task.id,
      command: task.run,
      cwd: task.cwd,
      env: { ...ctx.env, ...o.pipeline.env, ...task.env, SLIPWAY_TASK: task.id, SLIPWAY_RUN_ID: job.runId },
      timeoutMs: task.timeoutMs,
      signal: io.signal,
      onSpawned: () => {
        stages.spawned = ctx.now();
        const waited = cpuWaitMs();
        if (waited !== undefined && io.cpuWaitBefore !== undefined)
          stages.cpuWait = waited - io.cpuWaitBefore;
        io.started?.(job);
      },
      onOutput: (stream, raw) => {
        const text = redact(raw);
        captured.push(text);
        io.output(stream, text);
      },
    });
    stages.exited = ctx.now();
    await io.ran?.(attempt.durationMs);
    // Success is reported only once the outputs are in the remote cache, where a dependent on
    // any worker restores them from.
    if (!attempt.failure && task.cache) {
      await o.cache.save(task, own.hash, { log: captured.join(''), durationMs: attempt.durationMs });
      await o.cache.flush();
    }
    const failure = attempt.failure;
    return result({
      exitCode: attempt.exitCode,
      durationMs: attempt.durationMs,
      cpuSeconds: attempt.cpuSeconds,
      peakRssBytes: attempt.peakRssBytes,
      ...(failure ? { failure } : {}),
    });
  } finally {
    io.ran?.();
  }
}
