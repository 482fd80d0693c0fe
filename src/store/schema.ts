/** Table types for the query layer (Kysely). Timestamps are epoch milliseconds. */
import type { CacheOutcome, RunStatus, TaskRunStatus } from '../events.js';

export interface RunsTable {
  id: string;
  pipeline: string;
  status: RunStatus;
  started_at: number;
  ended_at: number | null;
  duration_ms: number | null;
  concurrency: number;
  capacity_cpu: number;
  lower_bound_ms: number | null;
  predicted_makespan_ms: number | null;
  critical_path: string;
  git_sha: string | null;
  git_commit_at: number | null;
  argv: string;
  pid: number;
  host: string;
  tasks_total: number;
  tasks_succeeded: number;
  tasks_failed: number;
  tasks_skipped: number;
  tasks_cached: number;
  /** The pool's memory in bytes (migration 090); null on rows written before it. */
  capacity_memory?: number | null;
}

export interface TaskRunsTable {
  run_id: string;
  task_id: string;
  status: TaskRunStatus;
  cache: CacheOutcome | null;
  hash: string | null;
  started_at: number | null;
  ended_at: number | null;
  duration_ms: number | null;
  predicted_ms: number | null;
  exit_code: number | null;
  cpu_seconds: number | null;
  peak_rss_bytes: number | null;
  attempts: number;
  /** `describeFailure(failure)`, for readers that predate the `failure` column. */
  reason: string | null;
  /** The `TaskFailure` as JSON (migration 070); null when the task succeeded or has not ended. */
  failure: string | null;
  tags: string;
  cpu_request: number | null;
  memory_request: number | null;
  saved_ms: number | null;
  /**
   * Disk I/O of the task's process tree (migration 090; exec/io-counters.ts); null when not
   * measured. Optional so rows built before migration 090 still type-check.
   */
  io_read_bytes?: number | null;
  io_write_bytes?: number | null;
  io_read_ops?: number | null;
  io_write_ops?: number | null;
  io_read_chars?: number | null;
  io_write_chars?: number | null;
}

/** Feature tables are declared beside their migrations and merged here. */
export interface Database {
  runs: RunsTable;
  task_runs: TaskRunsTable;
}
