/**
 * The one typed event stream of a run. The executor emits; reporters, the store writer and the
 * dashboard subscribe. Nothing else finds out what happened. (Deployments have their own stream,
 * deploy/events.ts.)
 */

import type { TaskFailure } from './task-failure.js';
import type { IoCounters } from './util/io-counters.js';

/** How a task ended; `statusOf` (exec/task-failure.ts) derives it from its failure. */
export type TaskStatus = 'success' | 'failed' | 'skipped' | 'cancelled';
/** A task's row in the history: not started yet, running, ended, or left behind by a crashed run. */
export type TaskRunStatus = TaskStatus | 'pending' | 'running' | 'interrupted';
export type CacheOutcome = 'hit-local' | 'hit-remote' | 'miss' | 'disabled';
export type RunStatus = 'running' | 'success' | 'failed' | 'cancelled' | 'interrupted';
/** How a run that this process saw to its end ended. */
export type RunOutcome = Exclude<RunStatus, 'running' | 'interrupted'>;

export interface PlannedTask {
  id: string;
  predictedMs: number;
  predictedStartMs: number;
  cpu: number;
  memory: number;
}

export type RunEvent =
  | {
      type: 'run-started';
      runId: string;
      pipeline: string;
      at: number;
      tasks: PlannedTask[];
      concurrency: number;
      capacity: { slots: number; cpu: number; memory: number };
      predictedMakespanMs: number;
      lowerBoundMs: number;
      criticalPath: string[];
      gitSha?: string;
      gitCommitAt?: number;
      argv: string[];
    }
  | { type: 'task-started'; runId: string; taskId: string; at: number; attempt: number; predictedMs: number }
  | { type: 'task-output'; runId: string; taskId: string; stream: 'stdout' | 'stderr'; text: string }
  | {
      type: 'task-retry';
      runId: string;
      taskId: string;
      at: number;
      attempt: number;
      exitCode: number | null;
    }
  | {
      type: 'cache-hit';
      runId: string;
      taskId: string;
      at: number;
      source: 'local' | 'remote';
      hash: string;
      savedMs: number;
    }
  | {
      type: 'task-finished';
      runId: string;
      taskId: string;
      at: number;
      startedAt: number;
      status: TaskStatus;
      cache: CacheOutcome;
      hash?: string;
      exitCode: number | null;
      durationMs: number;
      predictedMs: number;
      cpuSeconds: number;
      peakRssBytes: number;
      /** Disk I/O of the task's whole process tree (exec/io-counters.ts); absent when not measured. */
      io?: IoCounters;
      attempts: number;
      /** Why it failed, was skipped or cancelled (absent exactly when status is success). */
      failure?: TaskFailure;
      logFile?: string;
      /** The scale-out worker that ran it (absent: this process). */
      worker?: string;
    }
  | {
      type: 'run-finished';
      runId: string;
      at: number;
      status: Exclude<RunStatus, 'running'>;
      durationMs: number;
      /** Lower bound from the measured durations: max(critical path, work / capacity). */
      lowerBoundMs: number;
    }
  | { type: 'warning'; runId?: string; taskId?: string; message: string };

export type Listener<E> = (event: E) => void;

/** A synchronous fan-out; listeners must not throw (errors are reported, not propagated). */
export class EventStream<E extends { type: string }> {
  readonly #listeners = new Set<Listener<E>>();

  subscribe(listener: Listener<E>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: E): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch (e) {
        // A broken reporter must not take the run down with it.
        process.stderr.write(`slipway: listener failed on ${event.type}: ${String(e)}\n`);
      }
    }
  }
}
