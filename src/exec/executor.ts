/**
 * Turns a plan into events: starts ready tasks in priority order as the pool allows, runs them
 * (or restores them from the cache), and emits the one event stream everyone else consumes.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CacheLookup, TaskCache, TaskHash } from '../cache/types.js';
import type { Pipeline, TaskConfig } from '../config/types.js';
import type { CacheOutcome, EventStream, RunEvent, TaskStatus } from '../events.js';
import { upwardRanks } from '../graph/critical-path.js';
import type { TaskGraph } from '../graph/graph.js';
import type { Capacity } from '../plan/capacity.js';
import { type Candidate, pickTasks, type Running } from '../plan/policy.js';
import type { Prediction } from '../plan/predict.js';
import { failpoint } from '../util/failpoint.js';
import { ProcessTreeSampler } from './proc-stats.js';
import type { ProcessGuard } from './process-guard.js';
import { redactor } from './redact.js';
import { runProcess } from './runner.js';

export interface RunGraphOptions {
  runId: string;
  pipeline: Pipeline;
  graph: TaskGraph;
  capacity: Capacity;
  predictions: ReadonlyMap<string, Prediction>;
  events: EventStream<RunEvent>;
  cache?: TaskCache;
  /** Ignore cache hits (still computes hashes and saves). */
  force?: boolean;
  /** In-place hits found before planning (settleInPlace), in dependency order. */
  settled?: ReadonlyMap<string, CacheLookup>;
  /** Keep running everything that does not depend on a failure. */
  continueOnFailure?: boolean;
  signal?: AbortSignal;
  /** Environment the tasks inherit (default process.env). */
  env?: NodeJS.ProcessEnv;
  logDir: string;
  /** Told of every task process group (process-guard.ts): none outlives slipway. */
  guard?: ProcessGuard;
  /**
   * Awaited once, before the first task process starts (a fully cached run never calls it):
   * the run is recorded in the history by then, so a crash from here on leaves it `interrupted`.
   */
  beforeFirstProcess?: () => Promise<void>;
}

export interface RunGraphResult {
  status: 'success' | 'failed' | 'cancelled';
  tasks: Map<string, TaskStatus>;
}

interface Active extends Running {
  startedAt: number;
}

export function logFileName(taskId: string): string {
  return `${taskId.replace(/[^A-Za-z0-9_.@-]/g, '_')}.log`;
}

/** Runs the graph to completion (or failure, or cancellation). Never throws for task failures. */
export async function runGraph(o: RunGraphOptions): Promise<RunGraphResult> {
  const { graph, capacity, events, runId } = o;
  const env = o.env ?? process.env;
  const sampler = new ProcessTreeSampler();
  const rank = upwardRanks(graph, (id) => o.predictions.get(id)!.durationMs);
  const status = new Map<string, TaskStatus>();
  const hashes = new Map<string, TaskHash>();
  const waiting = new Map(graph.ids.map((id) => [id, graph.deps(id).filter((d) => graph.has(d)).length]));
  const ready = new Set<string>([...waiting].filter(([, n]) => n === 0).map(([id]) => id));
  const active = new Map<string, Active>();
  let stopping = false; // a failure without --continue: start nothing new
  // Made when the first task really runs: a fully cached run writes no log files at all.
  let logDirMade = false;
  let firstProcess: Promise<void> | undefined;
  const beforeFirstProcess = () =>
    (firstProcess ??= (async () => {
      await o.beforeFirstProcess?.().catch(() => {});
      failpoint('run-first-task');
    })());

  const predicted = (id: string) => o.predictions.get(id)!;
  const now = () => Date.now();

  const finish = (id: string) => {
    for (const m of graph.dependents(id)) {
      if (!waiting.has(m)) continue;
      const n = waiting.get(m)! - 1;
      waiting.set(m, n);
      if (n === 0) ready.add(m);
    }
  };

  /** Marks every task that transitively depends on `id` as skipped. */
  const skipDependents = (id: string, reason: string) => {
    const stack = [...graph.dependents(id)];
    while (stack.length) {
      const m = stack.pop()!;
      if (status.has(m) || active.has(m)) continue;
      ready.delete(m);
      waiting.delete(m);
      status.set(m, 'skipped');
      emitSkipped(m, 'skipped', reason);
      stack.push(...graph.dependents(m));
    }
  };

  const emitSkipped = (id: string, st: 'skipped' | 'cancelled', reason: string) => {
    const at = now();
    events.emit({
      type: 'task-finished',
      runId,
      taskId: id,
      at,
      startedAt: at,
      status: st,
      cache: 'disabled',
      exitCode: null,
      durationMs: 0,
      predictedMs: predicted(id).durationMs,
      cpuSeconds: 0,
      peakRssBytes: 0,
      attempts: 0,
      reason,
    });
  };

  let wake: () => void = () => {};
  const depHashes = (id: string) =>
    new Map(graph.deps(id).flatMap((d) => (hashes.has(d) ? [[d, hashes.get(d)!] as const] : [])));

  /** Runs a task, or restores it from the cache; `known` is a lookup already made for it. */
  const runTask = async (task: TaskConfig, known?: CacheLookup) => {
    const id = task.id;
    const startedAt = now();
    const p = predicted(id);
    // A task that runs gets a log file (its stream opens on the first output; a silent task's
    // is written empty at the end). A cache hit's log is replayed to the terminal and stays in
    // the cache: no file is written for it.
    const logFile = path.join(o.logDir, logFileName(id));
    let log: WriteStream | undefined;
    let streaming = false;
    const redact = redactor(task.secrets.map((s) => env[s]).filter((v): v is string => !!v));
    const output = (stream: 'stdout' | 'stderr', raw: string) => {
      const text = redact(raw);
      if (streaming) {
        log ??= createWriteStream(logFile);
        log.write(text);
      }
      captured.push(text);
      events.emit({ type: 'task-output', runId, taskId: id, stream, text });
    };
    const captured: string[] = [];
    let cache: CacheOutcome = 'disabled';
    let hash: TaskHash | undefined;
    let result: Awaited<ReturnType<typeof runProcess>> | undefined;
    let attempts = 0;
    let st: TaskStatus;
    let reason: string | undefined;

    try {
      if (o.cache) {
        const found =
          known ?? (await o.cache.lookup(task, depHashes(id), { restore: task.cache && !o.force }));
        hash = found.hash;
        hashes.set(id, hash);
        cache = task.cache ? 'miss' : 'disabled';
        if (found.hit && task.cache && !o.force) {
          cache = found.hit.source === 'local' ? 'hit-local' : 'hit-remote';
          events.emit({
            type: 'task-started',
            runId,
            taskId: id,
            at: startedAt,
            attempt: 0,
            predictedMs: p.durationMs,
          });
          events.emit({
            type: 'cache-hit',
            runId,
            taskId: id,
            at: now(),
            source: found.hit.source,
            hash,
            savedMs: found.hit.savedMs,
          });
          if (found.hit.log) output('stdout', found.hit.log);
          st = 'success';
          return done(st);
        }
      }
      const maxAttempts = task.retries + 1;
      const taskEnv: NodeJS.ProcessEnv = {
        ...env,
        ...o.pipeline.env,
        ...task.env,
        SLIPWAY_TASK: id,
        SLIPWAY_RUN_ID: runId,
      };
      await beforeFirstProcess();
      streaming = true;
      if (!logDirMade) {
        mkdirSync(o.logDir, { recursive: true });
        logDirMade = true;
      }
      for (attempts = 1; attempts <= maxAttempts; attempts++) {
        events.emit({
          type: 'task-started',
          runId,
          taskId: id,
          at: now(),
          attempt: attempts,
          predictedMs: p.durationMs,
        });
        result = await runProcess({
          command: task.run,
          cwd: task.cwd,
          env: taskEnv,
          timeoutMs: task.timeoutMs,
          signal: o.signal,
          sampler,
          onOutput: output,
          ...(o.guard ? { guard: o.guard } : {}),
        });
        if (result.exitCode === 0 || result.cancelled || attempts === maxAttempts) break;
        events.emit({
          type: 'task-retry',
          runId,
          taskId: id,
          at: now(),
          attempt: attempts,
          exitCode: result.exitCode,
        });
      }
      attempts = Math.min(attempts, maxAttempts);
      if (result!.cancelled) {
        st = 'cancelled';
        reason = 'cancelled by signal';
      } else if (result!.exitCode === 0) {
        st = 'success';
      } else {
        st = 'failed';
        reason = result!.spawnError
          ? `could not start: ${result!.spawnError}`
          : result!.timedOut
            ? `timed out after ${task.timeoutMs} ms`
            : result!.signal
              ? `killed by ${result!.signal}`
              : `exit code ${result!.exitCode}`;
      }
      await closeLog(log, logFile);
      if (st === 'success' && o.cache && hash && task.cache) {
        await o.cache.save(task, hash, { log: captured.join(''), durationMs: result!.durationMs });
      }
      return done(st);
    } catch (e) {
      // A bug in caching or logging must not hang the run: fail this task visibly.
      if (streaming) await closeLog(log, logFile).catch(() => {});
      reason = `internal error: ${e instanceof Error ? e.message : String(e)}`;
      return done('failed');
    }

    function done(final: TaskStatus) {
      const at = now();
      events.emit({
        type: 'task-finished',
        runId,
        taskId: id,
        at,
        startedAt,
        status: final,
        cache,
        ...(hash ? { hash } : {}),
        exitCode: result?.exitCode ?? (final === 'success' ? 0 : null),
        durationMs: result?.durationMs ?? at - startedAt,
        predictedMs: p.durationMs,
        cpuSeconds: result?.cpuSeconds ?? 0,
        peakRssBytes: result?.peakRssBytes ?? 0,
        attempts,
        ...(reason ? { reason } : {}),
        ...(streaming ? { logFile } : {}),
      });
      status.set(id, final);
      active.delete(id);
      if (final === 'success') finish(id);
      else if (final === 'failed') {
        skipDependents(id, `dependency "${id}" failed`);
        if (!o.continueOnFailure) stopping = true;
      } else skipDependents(id, `dependency "${id}" was ${final}`);
      wake();
    }
  };

  // Tasks settled before planning (outputs still in place) finish first, in dependency order
  // and in one go: no slot, no scheduling decision, no turn of the event loop between them.
  for (const [id, found] of o.settled ?? []) {
    if (!ready.has(id)) continue;
    ready.delete(id);
    waiting.delete(id);
    await runTask(o.pipeline.tasks.get(id)!, found);
  }

  const onAbort = () => {
    stopping = true;
    wake();
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });

  while (true) {
    if (!stopping && !o.signal?.aborted) {
      const t = now();
      const candidates: Candidate[] = [...ready].map((id) => {
        const p = predicted(id);
        return {
          id,
          rank: rank.get(id)!,
          durationMs: p.durationMs,
          cpu: Math.min(p.cpu, capacity.cpu),
          memory: Math.min(p.memory, capacity.memory),
        };
      });
      for (const id of pickTasks(t, candidates, [...active.values()], capacity)) {
        const c = candidates.find((x) => x.id === id)!;
        ready.delete(id);
        waiting.delete(id);
        active.set(id, { id, cpu: c.cpu, memory: c.memory, expectedEndMs: t + c.durationMs, startedAt: t });
        void runTask(o.pipeline.tasks.get(id)!);
      }
    }
    if (!active.size) break;
    await new Promise<void>((r) => {
      wake = r;
    });
  }
  o.signal?.removeEventListener('abort', onAbort);

  // Whatever never started: cancelled by a signal, or skipped after a failure.
  const cancelled = !!o.signal?.aborted;
  for (const id of graph.topo()) {
    if (status.has(id)) continue;
    const st = cancelled ? 'cancelled' : 'skipped';
    status.set(id, st);
    emitSkipped(
      id,
      st,
      cancelled ? 'run cancelled' : 'run stopped after a failure (use --continue to run independent tasks)',
    );
  }
  await o.cache?.flush();
  const values = [...status.values()];
  return {
    status: cancelled ? 'cancelled' : values.every((s) => s === 'success') ? 'success' : 'failed',
    tasks: status,
  };
}

/** Ends the task's log stream, or writes an empty log when the task printed nothing. */
function closeLog(log: WriteStream | undefined, file: string): Promise<void> {
  if (!log) return writeFile(file, '');
  return new Promise((r) => log.end(() => r()));
}
