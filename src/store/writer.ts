/**
 * Writes runs and task runs to the store as events arrive, so a crash loses at most the task in
 * flight. Events of one window are coalesced into one batch, which the store writes in one
 * transaction (`store.runs.write`: prepared statements on SQLite, multi-row upserts on PostgreSQL).
 */
import os from 'node:os';
import type { Pipeline } from '../config/types.js';
import type { EventStream, RunEvent } from '../events.js';
import { addTask, NO_TASKS, type TaskCounts } from '../task-counts.js';
import { describeFailure } from '../task-failure.js';
import type { IoCounters } from '../util/io-counters.js';
import { trace } from '../util/trace.js';
import type { RunsTable, TaskRunsTable } from './schema.js';
import type { Store } from './store.js';

export interface StoreWriter {
  /** Resolves when every write so far has been committed; rejects with the first write error. */
  flush(): Promise<void>;
  unsubscribe(): void;
}

const BATCH_MS = 25;

/** Subscribes a writer; writes are serialised so rows appear in event order. */
export function attachStoreWriter(
  store: Store,
  events: EventStream<RunEvent>,
  pipeline: Pipeline,
): StoreWriter {
  const runs = new Map<string, { row: RunsTable; inserted: boolean; dirty: boolean; counts: TaskCounts }>();
  const tasks = new Map<string, TaskRunsTable>();
  const dirtyTasks = new Set<string>();
  let chain: Promise<void> = Promise.resolve();
  let scheduled = false;
  let failure: unknown;

  const key = (runId: string, taskId: string) => `${runId}\0${taskId}`;
  const touch = (runId: string, taskId: string, patch: Partial<TaskRunsTable>) => {
    const k = key(runId, taskId);
    const row = tasks.get(k) ?? blankTask(runId, taskId, pipeline);
    tasks.set(k, Object.assign(row, patch));
    dirtyTasks.add(k);
    schedule();
  };
  const touchRun = (runId: string, patch: Partial<RunsTable>) => {
    const r = runs.get(runId);
    if (!r) return;
    Object.assign(r.row, patch);
    r.dirty = true;
    schedule();
  };
  // One write in flight at a time; whatever arrives meanwhile (or within BATCH_MS) goes into the
  // next one. A crash loses at most that window.
  let hurry: (() => void) | undefined;
  // flush() was called before the window's timer was armed (in the same turn as the event that
  // scheduled the write): the window is not waited out then either.
  let hurried = false;
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    chain = chain
      .then(
        () =>
          new Promise<void>((r) => {
            if (hurried) return r();
            const t = setTimeout(r, BATCH_MS);
            // flush() does not wait out the window.
            hurry = () => {
              clearTimeout(t);
              r();
            };
          }),
      )
      .then(() => {
        hurry = undefined;
        hurried = false;
        scheduled = false;
        return write();
      })
      .catch((e) => {
        scheduled = false;
        failure ??= e;
      });
  };

  const write = async () => {
    const newRuns = [...runs.values()].filter((r) => !r.inserted).map((r) => ({ ...r.row }));
    const changedRuns = [...runs.values()].filter((r) => r.inserted && r.dirty).map((r) => ({ ...r.row }));
    const rows = [...dirtyTasks].map((k) => ({ ...tasks.get(k)! }));
    for (const r of runs.values()) {
      r.inserted = true;
      r.dirty = false;
    }
    dirtyTasks.clear();
    if (!newRuns.length && !changedRuns.length && !rows.length) return;
    trace(`history: writing ${rows.length} task rows`);
    await store.runs.write({ newRuns, changedRuns, taskRuns: rows });
  };

  const unsubscribe = events.subscribe((e) => {
    switch (e.type) {
      case 'run-started':
        runs.set(e.runId, {
          inserted: false,
          dirty: false,
          counts: NO_TASKS,
          row: {
            id: e.runId,
            pipeline: e.pipeline,
            status: 'running',
            started_at: e.at,
            ended_at: null,
            duration_ms: null,
            concurrency: e.concurrency,
            capacity_cpu: e.capacity.cpu,
            lower_bound_ms: e.lowerBoundMs,
            predicted_makespan_ms: e.predictedMakespanMs,
            critical_path: JSON.stringify(e.criticalPath),
            git_sha: e.gitSha ?? null,
            git_commit_at: e.gitCommitAt ?? null,
            argv: JSON.stringify(e.argv),
            pid: process.pid,
            host: os.hostname(),
            tasks_total: e.tasks.length,
            tasks_succeeded: 0,
            tasks_failed: 0,
            tasks_skipped: 0,
            tasks_cached: 0,
            capacity_memory: e.capacity.memory,
          },
        });
        schedule();
        for (const t of e.tasks) {
          touch(e.runId, t.id, { predicted_ms: t.predictedMs, cpu_request: t.cpu, memory_request: t.memory });
        }
        break;
      case 'task-started':
        touch(e.runId, e.taskId, { status: 'running', started_at: e.at, attempts: e.attempt });
        break;
      case 'cache-hit':
        touch(e.runId, e.taskId, { saved_ms: e.savedMs });
        break;
      case 'task-finished': {
        touch(e.runId, e.taskId, {
          status: e.status,
          cache: e.cache,
          hash: e.hash ?? null,
          started_at: e.startedAt,
          ended_at: e.at,
          duration_ms: e.durationMs,
          predicted_ms: e.predictedMs,
          exit_code: e.exitCode,
          cpu_seconds: e.cpuSeconds,
          peak_rss_bytes: e.peakRssBytes,
          attempts: e.attempts,
          reason: e.failure ? describeFailure(e.failure) : null,
          failure: e.failure ? JSON.stringify(e.failure) : null,
          ...ioColumns(e.io),
        });
        const r = runs.get(e.runId);
        if (r) {
          r.counts = addTask(r.counts, e);
          touchRun(e.runId, countColumns(r.counts));
        }
        break;
      }
      case 'run-finished':
        touchRun(e.runId, {
          status: e.status,
          ended_at: e.at,
          duration_ms: e.durationMs,
          lower_bound_ms: e.lowerBoundMs,
        });
        break;
      default:
        break;
    }
  });

  return {
    flush: async () => {
      if (hurry) hurry();
      else if (scheduled) hurried = true;
      await chain;
      if (failure) throw failure;
    },
    unsubscribe,
  };
}

function blankTask(runId: string, taskId: string, pipeline: Pipeline): TaskRunsTable {
  return {
    run_id: runId,
    task_id: taskId,
    status: 'pending',
    cache: null,
    hash: null,
    started_at: null,
    ended_at: null,
    duration_ms: null,
    predicted_ms: null,
    exit_code: null,
    cpu_seconds: null,
    peak_rss_bytes: null,
    attempts: 0,
    reason: null,
    failure: null,
    tags: JSON.stringify(pipeline.tasks.get(taskId)?.tags ?? []),
    cpu_request: null,
    memory_request: null,
    saved_ms: null,
    ...ioColumns(undefined),
  };
}

/** The task_runs I/O columns of a measurement (all null when there is none). */
function ioColumns(
  io: IoCounters | undefined,
): Pick<
  TaskRunsTable,
  'io_read_bytes' | 'io_write_bytes' | 'io_read_ops' | 'io_write_ops' | 'io_read_chars' | 'io_write_chars'
> {
  return {
    io_read_bytes: io?.readBytes ?? null,
    io_write_bytes: io?.writeBytes ?? null,
    io_read_ops: io?.readOps ?? null,
    io_write_ops: io?.writeOps ?? null,
    io_read_chars: io?.readChars ?? null,
    io_write_chars: io?.writeChars ?? null,
  };
}

/** The run row's counters; history keeps cancelled tasks with the skipped ones. */
function countColumns(
  c: TaskCounts,
): Pick<RunsTable, 'tasks_succeeded' | 'tasks_failed' | 'tasks_skipped' | 'tasks_cached'> {
  return {
    tasks_succeeded: c.success,
    tasks_failed: c.failed,
    tasks_skipped: c.skipped + c.cancelled,
    tasks_cached: c.hitsLocal + c.hitsRemote,
  };
}
