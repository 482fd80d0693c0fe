/**
 * Why a task did not succeed, as a value: the executor decides it once, the event stream carries
 * it, the history stores it, and every reader renders it through the switches below (a new kind
 * that one of them forgets does not compile).
 */
import type { TaskStatus } from './events.js';
import { unreachable } from './util/result.js';

export type TaskFailure =
  /** The command ran and exited with a code other than 0. */
  | { reason: 'exit-non-zero'; code: number }
  /** The command was killed by a signal nobody in slipway sent (the OOM killer, say). */
  | { reason: 'signal'; signal: string }
  /** The command outran its `timeout` and its process group was killed. */
  | { reason: 'timeout'; ms: number }
  /** The command could not be started at all (a missing working directory, say). */
  | { reason: 'spawn-error'; message: string }
  /** Not run: a task it depends on (directly or not) failed. */
  | { reason: 'dependency-failed'; dependency: string }
  /** Not run: another task failed and the run was not started with --continue. */
  | { reason: 'stopped-after-failure' }
  /** Stopped or never started because the run was cancelled (Ctrl-C, SIGTERM). */
  | { reason: 'cancelled' }
  /** A bug in slipway (caching, logging) while handling the task. */
  | { reason: 'internal'; message: string }
  /** A scale-out worker does not have the run's commit, even after fetching (src/scale/worktree.ts). */
  | { reason: 'commit-missing'; commit: string; worker: string }
  /** A scale-out worker refused the job: bad signature, other pipeline, other inputs, run gone. */
  | { reason: 'job-refused'; why: string; worker: string };

/** The status a failure gives its task: it failed, it was skipped, or the run was cancelled. */
export function statusOf(failure: TaskFailure | undefined): TaskStatus {
  if (!failure) return 'success';
  switch (failure.reason) {
    case 'exit-non-zero':
    case 'signal':
    case 'timeout':
    case 'spawn-error':
    case 'internal':
    case 'commit-missing':
    case 'job-refused':
      return 'failed';
    case 'dependency-failed':
    case 'stopped-after-failure':
      return 'skipped';
    case 'cancelled':
      return 'cancelled';
    default:
      return unreachable(failure);
  }
}

/** The one sentence for a failure: the summary's and the history's `reason`, the terminal's line. */
export function describeFailure(failure: TaskFailure): string {
  switch (failure.reason) {
    case 'exit-non-zero':
      return `exit code ${failure.code}`;
    case 'signal':
      return `killed by ${failure.signal}`;
    case 'timeout':
      return `timed out after ${failure.ms} ms`;
    case 'spawn-error':
      return `could not start: ${failure.message}`;
    case 'dependency-failed':
      return `dependency "${failure.dependency}" failed`;
    case 'stopped-after-failure':
      return 'run stopped after a failure (use --continue to run independent tasks)';
    case 'cancelled':
      return 'run cancelled';
    case 'internal':
      return `internal error: ${failure.message}`;
    case 'commit-missing':
      return `worker ${failure.worker} does not have commit ${failure.commit} (push it, or fetch it into the worker's clone)`;
    case 'job-refused':
      return `worker ${failure.worker} refused the job: ${failure.why}`;
    default:
      return unreachable(failure);
  }
}
