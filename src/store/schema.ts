/**
 * Every table of the history store, for the query layer (Kysely). Timestamps are epoch
 * milliseconds. Only src/store/ reads or writes these rows; features see them through the
 * store's typed queries (runs.ts, deployments.ts, leases.ts, findings.ts).
 */
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

/** Deployments and rollbacks (migrations 030 and 060); `status` holds a DeployStatus (deploy/events.ts). */
export interface DeploymentsTable {
  id: string;
  kind: string;
  environment: string;
  version: string;
  release: string;
  status: string;
  started_at: number;
  ended_at: number | null;
  duration_ms: number | null;
  git_sha: string | null;
  git_commit_at: number | null;
  artifact_bytes: number;
  bytes_sent: number;
  origin_egress_bytes: number;
  chunks_total: number;
  chunks_reused: number;
  relay: number;
  reason: string | null;
  owner_pid: number | null;
  owner_host: string | null;
  owner_start: string | null;
}

/** One target of a deployment; `phases` is JSON (what happened when). */
export interface DeploymentTargetsTable {
  deployment_id: string;
  target: string;
  region: string;
  agent: string;
  wave: number;
  status: string;
  previous_release: string | null;
  staged_ms: number | null;
  activated_at: number | null;
  bytes_sent: number;
  chunks_reused: number;
  chunks_fetched: number;
  health_ok: number;
  health_failed: number;
  health_inconclusive: number;
  health_errors: number;
  reason: string | null;
  phases: string;
}

/** One row per environment: the deployment that may change it (migration 060). */
export interface DeployLeasesTable {
  environment: string;
  deployment_id: string;
  owner_pid: number;
  owner_host: string;
  owner_start: string;
  acquired_at: number;
  expires_at: number;
}

/** Regression findings with stable ids and acknowledgements (migration 020). */
export interface FindingsTable {
  id: string;
  pipeline: string;
  subject: string;
  metric: string;
  direction: string;
  run_id: string;
  run_started_at: number;
  previous_run_id: string | null;
  mean_before: number;
  mean_after: number;
  std_before: number;
  std_after: number;
  change: number;
  magnitude: number;
  p_value: number;
  samples_before: number;
  samples_after: number;
  latest_mean: number;
  persists: number;
  active: number;
  detected_at: number;
  updated_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  ack_note: string | null;
}

export interface Database {
  runs: RunsTable;
  task_runs: TaskRunsTable;
  deployments: DeploymentsTable;
  deployment_targets: DeploymentTargetsTable;
  deploy_leases: DeployLeasesTable;
  findings: FindingsTable;
}
