/**
 * Turns a plan into events: starts ready tasks as the scheduling policy picks them, lets each
 * run its life cycle (run-task.ts) through the injected runner, and reports every task's end as
 * one `task-finished` event. What a failure means for the rest is decided here, once.
 */
import { mkdirSync } from 'node:fs';
import type { CacheLookup, TaskCache, TaskHash } from '../cache/types.js';
import type { Capacity } from '../config/capacity.js';
import type { Pipeline } from '../config/types.js';
import type { EventStream, RunEvent, RunOutcome, TaskStatus } from '../events.js';
import type { TaskGraph } from '../graph/graph.js';
import { Frontier } from '../plan/frontier.js';
import { pickTasks, type Running } from '../plan/policy.js';
import type { Prediction } from '../plan/predict.js';
import { statusOf, type TaskFailure } from '../task-failure.js';
import { failpoint } from '../util/failpoint.js';
import { notRun, runTask, type TaskContext, type TaskOutcome } from './run-task.js';
import type { TaskRunner } from './task-runner.js';

export interface RunGraphOptions {
  runId: string;
  pipeline: Pipeline;
  graph: TaskGraph;
  capacity: Capacity;
  predictions: ReadonlyMap<string, Prediction>;
  events: EventStream<RunEvent>;
  /** Runs each attempt: the local process-group runner (runner.ts), or a fake in tests. */
  runner: TaskRunner;
  cache?: TaskCache;
  /** Ignore cache hits (still computes hashes and saves). */
  force?: boolean;
  /** In-place hits found before planning (TaskCache.settle), in dependency order. */
  settled?: ReadonlyMap<string, CacheLookup>;
  /** Keep running everything that does not depend on a failure. */
  continueOnFailure?: boolean;
  signal?: AbortSignal;
  /** Environment the tasks inherit (default process.env). */
  env?: NodeJS.ProcessEnv;
  logDir: string;
  /**
   * Awaited once, before the first task process starts (a fully cached run never calls it):
   * the run is recorded in the history by then, so a crash from here on leaves it `interrupted`.
   */
  beforeFirstProcess?: () => Promise<void>;
  /** The clock for event times and the policy's predicted ends (default Date.now). */
  now?: () => number;
}

export interface RunGraphResult {
  status: RunOutcome;
  tasks: Map<string, TaskStatus>;
  /** What each task executed in this run (0 for one that never ran or was a cache hit). */
  durationsMs: Map<string, number>;
}

/** Runs the graph to completion (or failure, or cancellation). Never throws for task failures. */
export async function runGraph(o: RunGraphOptions): Promise<RunGraphResult> {
  const { graph, capacity, events, runId, signal } = o;
  const now = o.now ?? Date.now;
  const predicted = (id: string) => o.predictions.get(id)!;
  const frontier = new Frontier(graph, (id) => {
    const p = predicted(id);
    return {
      durationMs: p.durationMs,
      cpu: Math.min(p.cpu, capacity.cpu),
      memory: Math.min(p.memory, capacity.memory),
    };
  });
  const statuses = new Map<string, TaskStatus>();
  const durations = new Map<string, number>();
  const hashes = new Map<string, TaskHash>();
  const active = new Map<string, Running>();
  let stopping = false; // a failure without --continue: start nothing new
  let wake: () => void = () => {};
  const ctx = taskContext(o, now);

  const report = (outcome: TaskOutcome) => {
    const status = statusOf(outcome.failure);
    statuses.set(outcome.taskId, status);
    const hit = outcome.cache === 'hit-local' || outcome.cache === 'hit-remote';
    durations.set(outcome.taskId, hit ? 0 : outcome.durationMs);
    if (outcome.hash) hashes.set(outcome.taskId, outcome.hash);
    events.emit(taskFinished(runId, outcome, status, predicted(outcome.taskId).durationMs));
    return status;
  };
  const finished = (outcome: TaskOutcome) => {
    const id = outcome.taskId;
    active.delete(id);
    const status = report(outcome);
    if (!outcome.failure) frontier.succeeded(id);
    else {
      const why: TaskFailure =
        status === 'cancelled' ? { reason: 'cancelled' } : { reason: 'dependency-failed', dependency: id };
      for (const m of frontier.drop(id)) report(notRun(m, why, now()));
      if (status === 'failed' && !o.continueOnFailure) stopping = true;
    }
    wake();
  };
  const depHashes = (id: string) =>
    new Map(graph.deps(id).flatMap((d) => (hashes.has(d) ? [[d, hashes.get(d)!] as const] : [])));
  const start = (id: string, known?: CacheLookup) =>
    runTask(o.pipeline.tasks.get(id)!, depHashes(id), ctx, known);

  // Tasks settled before planning (outputs still in place) finish first, in dependency order
  // and in one go: no slot, no scheduling decision, no turn of the event loop between them.
  for (const [id, found] of o.settled ?? []) {
    if (!frontier.isReady(id)) continue;
    frontier.start(id);
    finished(await start(id, found));
  }

  const onAbort = () => {
    stopping = true;
    wake();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  while (true) {
    if (!stopping && !signal?.aborted && frontier.hasReady) {
      const t = now();
      for (const id of pickTasks(t, frontier.candidates(), [...active.values()], capacity)) {
        const c = frontier.start(id);
        active.set(id, { id, cpu: c.cpu, memory: c.memory, expectedEndMs: t + c.durationMs });
        void start(id).then(finished);
      }
    }
    if (!active.size) break;
    await new Promise<void>((r) => {
      wake = r;
    });
  }
  signal?.removeEventListener('abort', onAbort);

  // Whatever never started: cancelled by a signal, or stopped after a failure.
  const cancelled = !!signal?.aborted;
  const why: TaskFailure = cancelled ? { reason: 'cancelled' } : { reason: 'stopped-after-failure' };
  for (const id of graph.topo()) if (!statuses.has(id)) report(notRun(id, why, now()));
  await o.cache?.flush();
  const all = [...statuses.values()];
  return {
    status: cancelled ? 'cancelled' : all.every((s) => s === 'success') ? 'success' : 'failed',
    tasks: statuses,
    durationsMs: durations,
  };
}

/** The `task-finished` event for an outcome: the one place it is written. */
function taskFinished(runId: string, t: TaskOutcome, status: TaskStatus, predictedMs: number): RunEvent {
  return {
    type: 'task-finished',
    runId,
    taskId: t.taskId,
    at: t.endedAt,
    startedAt: t.startedAt,
    status,
    cache: t.cache,
    ...(t.hash ? { hash: t.hash } : {}),
    exitCode: t.exitCode,
    durationMs: t.durationMs,
    predictedMs,
    cpuSeconds: t.cpuSeconds,
    peakRssBytes: t.peakRssBytes,
    ...(t.io ? { io: t.io } : {}),
    attempts: t.attempts,
    ...(t.failure ? { failure: t.failure } : {}),
    ...(t.logFile ? { logFile: t.logFile } : {}),
    ...(t.worker ? { worker: t.worker } : {}),
  };
}

/** What the run's tasks share; the log folder is made (once) just before the first process. */
function taskContext(o: RunGraphOptions, now: () => number): TaskContext {
  let firstProcess: Promise<void> | undefined;
  return {
    runId: o.runId,
    runner: o.runner,
    events: o.events,
    ...(o.cache ? { cache: o.cache } : {}),
    ...(o.force ? { force: o.force } : {}),
    // A plain copy, made once: every task's environment is spread from it, and spreading
    // process.env itself reads each variable through Node's accessor (~0.1 ms a task, which a
    // wave of 40 ready tasks pays before its first job can go).
    env: { ...(o.env ?? process.env) },
    pipelineEnv: o.pipeline.env,
    logDir: o.logDir,
    ...(o.signal ? { signal: o.signal } : {}),
    predictedMs: (id) => o.predictions.get(id)!.durationMs,
    // A fully cached run writes no log folder at all.
    beforeFirstProcess: () =>
      (firstProcess ??= (async () => {
        await o.beforeFirstProcess?.().catch(() => {});
        failpoint('run-first-task');
        mkdirSync(o.logDir, { recursive: true });
      })()),
    now,
  };
}
