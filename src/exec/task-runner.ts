/**
 * The seam between the executor and whatever runs a command: the local process-group runner
 * (runner.ts) today, a remote worker next, a scripted fake in tests. The executor decides what
 * runs when and how often; a runner runs one attempt and says how it went.
 */
import type { TaskHash } from '../cache/types.js';
import type { TaskFailure } from '../task-failure.js';
import type { IoCounters } from '../util/io-counters.js';

/** One attempt of one task. */
export interface RunRequest {
  taskId: string;
  command: string;
  /** Absolute working directory. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Aborted when the run is cancelled: stop the command and report `cancelled`. */
  signal?: AbortSignal;
  onOutput(stream: 'stdout' | 'stderr', text: string): void;
  /** Told once the command's process exists and has been let go (its start, for dispatch timings). */
  onSpawned?(): void;
  /** The task's cache key and its dependencies' (cache on): what a remote runner ships instead of files. */
  hash?: TaskHash;
  depHashes?: ReadonlyMap<string, TaskHash>;
  attempt?: number;
}

/** The ways one attempt can fail; the rest of `TaskFailure` is the executor's to decide. */
export type AttemptFailure = Extract<
  TaskFailure,
  {
    reason:
      | 'exit-non-zero'
      | 'signal'
      | 'timeout'
      | 'spawn-error'
      | 'cancelled'
      | 'commit-missing'
      | 'job-refused';
  }
>;

/** How an attempt went: no `failure` means it succeeded. */
export interface Attempt {
  exitCode: number | null;
  durationMs: number;
  cpuSeconds: number;
  peakRssBytes: number;
  /** Disk I/O of the attempt's process tree, where the system counts it (Linux). */
  io?: IoCounters;
  failure?: AttemptFailure;
  /** Where it ran, when not in this process (a scale-out worker's name). */
  worker?: string;
  /** The runner already saved the outputs to the shared (remote) cache: nothing is left to save here. */
  saved?: boolean;
}

/** Runs attempts; `run` never rejects for a failing command (a rejection is a bug in the runner). */
export interface TaskRunner {
  run(request: RunRequest): Promise<Attempt>;
}
