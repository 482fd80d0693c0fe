/**
 * One task's life cycle, from the moment the scheduler starts it: a cache lookup (and restore),
 * else attempts through the runner with retries, its log, the cache save. It emits the events of
 * its life (started, output, cache hit, retry) and returns how it ended as a `TaskOutcome`; the
 * executor turns that into the one `task-finished` event and decides what it means for the rest.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CacheLookup, TaskCache, TaskHash } from '../cache/types.js';
import type { TaskConfig } from '../config/types.js';
import type { CacheOutcome, EventStream, RunEvent } from '../events.js';
import type { TaskFailure } from '../task-failure.js';
import type { IoCounters } from '../util/io-counters.js';
import { redactor } from './redact.js';
import type { Attempt, TaskRunner } from './task-runner.js';

/** How a task ended, with what `task-finished` reports of it; no `failure` means success. */
export interface TaskOutcome {
  taskId: string;
  startedAt: number;
  endedAt: number;
  failure?: TaskFailure;
  cache: CacheOutcome;
  hash?: TaskHash;
  exitCode: number | null;
  durationMs: number;
  cpuSeconds: number;
  peakRssBytes: number;
  /** Disk I/O of the last attempt's process tree, where the system counts it. */
  io?: IoCounters;
  attempts: number;
  logFile?: string;
  /** Where it ran, when a remote runner ran it (scale-out). */
  worker?: string;
}

/** What every task of one run shares. */
export interface TaskContext {
  runId: string;
  runner: TaskRunner;
  events: EventStream<RunEvent>;
  cache?: TaskCache;
  /** Ignore cache hits (still computes hashes and saves). */
  force?: boolean;
  /** The environment tasks inherit (secrets are read from it). */
  env: NodeJS.ProcessEnv;
  /** The pipeline's `env`, over `env`; each task's own `env` goes on top. */
  pipelineEnv: Readonly<Record<string, string>>;
  /** Where a task that runs writes its log (the folder exists once `beforeFirstProcess` resolved). */
  logDir: string;
  signal?: AbortSignal;
  predictedMs(taskId: string): number;
  /** Awaited before each attempt; resolves at once after the first (executor.ts). */
  beforeFirstProcess(): Promise<void>;
  now(): number;
}

/** A task the executor never started: skipped, stopped or cancelled, with why. */
export function notRun(taskId: string, failure: TaskFailure, at: number): TaskOutcome {
  return {
    taskId,
    startedAt: at,
    endedAt: at,
    failure,
    cache: 'disabled',
    exitCode: null,
    durationMs: 0,
    cpuSeconds: 0,
    peakRssBytes: 0,
    attempts: 0,
  };
}

/** Log file name of a task inside the run's log folder. */
function logFileName(taskId: string): string {
  return `${taskId.replace(/[^A-Za-z0-9_.@-]/g, '_')}.log`;
}

/**
 * Runs a task, or restores it from the cache. `deps` are the hashes of its dependencies;
 * `known` is a lookup already made for it (an in-place hit settled before planning). Never
 * rejects: a bug in caching or logging becomes an `internal` failure of this task.
 */
export async function runTask(
  task: TaskConfig,
  deps: ReadonlyMap<string, TaskHash>,
  ctx: TaskContext,
  known?: CacheLookup,
): Promise<TaskOutcome> {
  const { runId, events } = ctx;
  const id = task.id;
  const startedAt = ctx.now();
  const predictedMs = ctx.predictedMs(id);
  // A task that runs gets a log file (its stream opens on the first output; a silent task's is
  // written empty at the end). A cache hit's log is replayed to the terminal and stays in the
  // cache: no file is written for it.
  const logFile = path.join(ctx.logDir, logFileName(id));
  let log: WriteStream | undefined;
  let streaming = false;
  const captured: string[] = [];
  const redact = redactor(task.secrets.map((s) => ctx.env[s]).filter((v): v is string => !!v));
  const output = (stream: 'stdout' | 'stderr', raw: string) => {
    const text = redact(raw);
    if (streaming) {
      log ??= createWriteStream(logFile);
      log.write(text);
    }
    captured.push(text);
    events.emit({ type: 'task-output', runId, taskId: id, stream, text });
  };
  let cache: CacheOutcome = 'disabled';
  let hash: TaskHash | undefined;
  let last: Attempt | undefined;
  let attempts = 0;

  const ended = (failure?: TaskFailure): TaskOutcome => {
    const endedAt = ctx.now();
    return {
      taskId: id,
      startedAt,
      endedAt,
      ...(failure ? { failure } : {}),
      cache,
      ...(hash ? { hash } : {}),
      exitCode: last ? last.exitCode : failure ? null : 0,
      durationMs: last?.durationMs ?? endedAt - startedAt,
      cpuSeconds: last?.cpuSeconds ?? 0,
      peakRssBytes: last?.peakRssBytes ?? 0,
      ...(last?.io ? { io: last.io } : {}),
      attempts,
      ...(streaming ? { logFile } : {}),
      ...(last?.worker ? { worker: last.worker } : {}),
    };
  };

  try {
    const useHit = task.cache && !ctx.force;
    if (ctx.cache) {
      const found = known ?? (await ctx.cache.lookup(task, deps, { restore: useHit }));
      hash = found.hash;
      cache = task.cache ? 'miss' : 'disabled';
      if (found.hit && useHit) {
        cache = found.hit.source === 'local' ? 'hit-local' : 'hit-remote';
        events.emit({ type: 'task-started', runId, taskId: id, at: startedAt, attempt: 0, predictedMs });
        events.emit({
          type: 'cache-hit',
          runId,
          taskId: id,
          at: ctx.now(),
          source: found.hit.source,
          hash,
          savedMs: found.hit.savedMs,
        });
        if (found.hit.log) output('stdout', found.hit.log);
        return ended();
      }
    }
    const env: NodeJS.ProcessEnv = {
      ...ctx.env,
      ...ctx.pipelineEnv,
      ...task.env,
      SLIPWAY_TASK: id,
      SLIPWAY_RUN_ID: runId,
    };
    const maxAttempts = task.retries + 1;
    await ctx.beforeFirstProcess();
    streaming = true;
    for (attempts = 1; ; attempts++) {
      events.emit({ type: 'task-started', runId, taskId: id, at: ctx.now(), attempt: attempts, predictedMs });
      last = await ctx.runner.run({
        taskId: id,
        command: task.run,
        cwd: task.cwd,
        env,
        timeoutMs: task.timeoutMs,
        signal: ctx.signal,
        onOutput: output,
        ...(hash && task.cache ? { hash, depHashes: deps } : {}),
        attempt: attempts,
      });
      if (!last.failure || last.failure.reason === 'cancelled' || attempts === maxAttempts) break;
      events.emit({
        type: 'task-retry',
        runId,
        taskId: id,
        at: ctx.now(),
        attempt: attempts,
        exitCode: last.exitCode,
      });
    }
    await closeLog(log, logFile);
    if (!last.failure && !last.saved && ctx.cache && hash && task.cache) {
      await ctx.cache.save(task, hash, { log: captured.join(''), durationMs: last.durationMs });
    }
    return ended(last.failure);
  } catch (e) {
    // A bug in caching or logging must not hang the run: fail this task visibly.
    if (streaming) await closeLog(log, logFile).catch(() => {});
    return ended({ reason: 'internal', message: e instanceof Error ? e.message : String(e) });
  }
}

/** Ends the task's log stream, or writes an empty log when the task printed nothing. */
function closeLog(log: WriteStream | undefined, file: string): Promise<void> {
  if (!log) return writeFile(file, '');
  return new Promise((r) => log.end(() => r()));
}
