/**
 * History as analytics reads it: runs with their task runs (oldest first) and deployments, loaded
 * once from the store (SQLite or PostgreSQL) into plain records the pure analyses take.
 */
import type { CacheOutcome, RunStatus, TaskRunStatus } from '../events.js';
import type { TaskRunRow } from '../store/runs.js';
import type { Store } from '../store/store.js';
import type { IoCounters } from '../util/io-counters.js';
import { jsonList } from '../util/json-list.js';
import type { Deployment, DeploymentOutcome } from './deployments.js';

export interface TaskRecord {
  taskId: string;
  status: TaskRunStatus;
  cache: CacheOutcome | null;
  hash: string | null;
  startedAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
  predictedMs: number | null;
  exitCode: number | null;
  cpuSeconds: number | null;
  peakRssBytes: number | null;
  attempts: number;
  tags: string[];
  cpuRequest: number | null;
  memoryRequest: number | null;
  savedMs: number | null;
  /** Disk I/O of the task's process tree; absent when not measured (cache hits, older rows). */
  io?: IoCounters;
}

export interface RunRecord {
  id: string;
  pipeline: string;
  status: RunStatus;
  startedAt: number;
  endedAt: number | null;
  durationMs: number | null;
  concurrency: number;
  capacityCpu: number;
  /** The pool's memory in bytes; null on runs recorded before it was kept. */
  capacityMemory?: number | null;
  lowerBoundMs: number | null;
  predictedMakespanMs: number | null;
  criticalPath: string[];
  gitSha: string | null;
  gitCommitAt: number | null;
  tasks: TaskRecord[];
}

export interface History {
  pipeline: string;
  /** Oldest first. */
  runs: RunRecord[];
  deployments: Deployment[];
}

/** A cache outcome that restored instead of running. */
export function isCacheHit(cache: string | null): boolean {
  return cache === 'hit-local' || cache === 'hit-remote';
}

/**
 * Runs of a pipeline (optionally since a time, at most `limit` newest), oldest first, with task
 * runs. No limit by default: change-point detection is O(n log n) and reads the whole history.
 */
export async function loadRuns(
  store: Pick<Store, 'runs'>,
  opts: { pipeline: string; since?: number; limit?: number },
): Promise<RunRecord[]> {
  const rows = await store.runs.list(opts);
  rows.reverse();
  const tasks = new Map<string, TaskRecord[]>();
  for (const t of await store.runs.taskRunsOf(rows.map((r) => r.id))) {
    const list = tasks.get(t.run_id) ?? [];
    list.push({
      taskId: t.task_id,
      status: t.status,
      cache: t.cache,
      hash: t.hash,
      startedAt: t.started_at,
      endedAt: t.ended_at,
      durationMs: t.duration_ms,
      predictedMs: t.predicted_ms,
      exitCode: t.exit_code,
      cpuSeconds: t.cpu_seconds,
      peakRssBytes: t.peak_rss_bytes,
      attempts: t.attempts,
      tags: jsonList(t.tags),
      cpuRequest: t.cpu_request,
      memoryRequest: t.memory_request,
      savedMs: t.saved_ms,
      ...ioOf(t),
    });
    tasks.set(t.run_id, list);
  }
  return rows.map((r) => ({
    id: r.id,
    pipeline: r.pipeline,
    status: r.status,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    durationMs: r.duration_ms,
    concurrency: r.concurrency,
    capacityCpu: r.capacity_cpu,
    capacityMemory: r.capacity_memory ?? null,
    lowerBoundMs: r.lower_bound_ms,
    predictedMakespanMs: r.predicted_makespan_ms,
    criticalPath: jsonList(r.critical_path),
    gitSha: r.git_sha,
    gitCommitAt: r.git_commit_at,
    tasks: (tasks.get(r.id) ?? []).sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0)),
  }));
}

function ioOf(t: TaskRunRow): { io?: IoCounters } {
  if (t.io_write_ops === null || t.io_write_ops === undefined) return {};
  return {
    io: {
      readBytes: t.io_read_bytes ?? 0,
      writeBytes: t.io_write_bytes ?? 0,
      readOps: t.io_read_ops ?? 0,
      writeOps: t.io_write_ops,
      readChars: t.io_read_chars ?? 0,
      writeChars: t.io_write_chars ?? 0,
    },
  };
}

const OUTCOMES: readonly DeploymentOutcome[] = [
  'success',
  'failed',
  'rolled-back',
  'running',
  'interrupted',
  'cancelled',
];

function outcome(status: string): DeploymentOutcome {
  return (OUTCOMES as readonly string[]).includes(status) ? (status as DeploymentOutcome) : 'failed';
}

/**
 * Deployments recorded by `slipway deploy` (tables of migration 030-deploy, which every store
 * has), with the health checks of their targets summed.
 */
async function loadRecordedDeployments(
  store: Pick<Store, 'deployments'>,
  since?: number,
): Promise<Deployment[]> {
  const rows = await store.deployments.since(since);
  const health = rows.length ? await store.deployments.healthByDeployment() : undefined;
  return rows.map((r) => {
    const h = health?.get(r.id);
    const d: Deployment = {
      id: r.id,
      environment: r.environment,
      status: outcome(r.status),
      startedAt: r.started_at,
      source: 'deployments',
    };
    if (r.kind === 'rollback') d.kind = 'rollback';
    if (r.ended_at !== null) d.endedAt = r.ended_at;
    if (r.duration_ms !== null) d.durationMs = r.duration_ms;
    if (r.git_sha !== null) d.gitSha = r.git_sha;
    if (r.git_commit_at !== null) d.gitCommitAt = r.git_commit_at;
    d.bytesSent = r.bytes_sent;
    d.artifactBytes = r.artifact_bytes;
    if (h) {
      d.healthOk = h.ok;
      d.healthFailed = h.failed;
    }
    return d;
  });
}

/**
 * Deployments inferred from runs: a run in which a task tagged `deploy` started. Its window is
 * that of its deploy tasks; it failed when one of them failed.
 */
function deploymentsFromRuns(runs: readonly RunRecord[]): Deployment[] {
  const out: Deployment[] = [];
  for (const r of runs) {
    const deploy = r.tasks.filter((t) => t.tags.includes('deploy') && t.startedAt !== null);
    if (!deploy.length) continue;
    const startedAt = Math.min(...deploy.map((t) => t.startedAt!));
    const ends = deploy.map((t) => t.endedAt).filter((e): e is number => e !== null);
    const failed = deploy.some((t) => t.status === 'failed');
    const done = deploy.every((t) => t.status === 'success');
    const status: DeploymentOutcome = failed
      ? 'failed'
      : done
        ? 'success'
        : r.status === 'running'
          ? 'running'
          : r.status === 'cancelled'
            ? 'cancelled'
            : 'interrupted';
    const d: Deployment = { id: r.id, environment: 'default', status, startedAt, source: 'run' };
    if (ends.length === deploy.length) {
      d.endedAt = Math.max(...ends);
      d.durationMs = d.endedAt - startedAt;
    }
    if (r.gitSha) d.gitSha = r.gitSha;
    if (r.gitCommitAt !== null) d.gitCommitAt = r.gitCommitAt;
    out.push(d);
  }
  return out;
}

/** Runs and deployments of a pipeline; deployments come from the deploy table when it has any. */
export async function loadHistory(
  store: Pick<Store, 'runs' | 'deployments'>,
  opts: { pipeline: string; since?: number; limit?: number },
): Promise<History> {
  const runs = await loadRuns(store, opts);
  const recorded = await loadRecordedDeployments(store, opts.since);
  // An empty deployments table means the deploy feature is installed but unused here.
  return {
    pipeline: opts.pipeline,
    runs,
    deployments: recorded.length ? recorded : deploymentsFromRuns(runs),
  };
}
