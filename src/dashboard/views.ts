/**
 * The JSON each dashboard page draws: a run with its Gantt rows, a task's history with change
 * points and right-sizing, a deployment with its waves. Shaped here so the browser only draws.
 */
import { detectChangePoints } from '../analyze/change-points.js';
import { type Finding, listFindings } from '../analyze/findings-store.js';
import { isCacheHit } from '../analyze/history.js';
import { type RightSizing, rightSize } from '../analyze/right-size.js';
import { type TargetView, targetView } from '../deploy/target-view.js';
import type { RunRow } from '../store/runs.js';
import type { Store } from '../store/store.js';
import { jsonList } from '../util/json-list.js';
import { quantile } from '../util/quantile.js';

/** A run as lists and headers show it. */
export interface RunHead {
  id: string;
  pipeline: string;
  status: string;
  startedAt: number;
  endedAt: number | null;
  durationMs: number | null;
  lowerBoundMs: number | null;
  predictedMakespanMs: number | null;
  concurrency: number;
  capacityCpu: number;
  gitSha: string | null;
  host: string;
  argv: string[];
  tasks: { total: number; succeeded: number; failed: number; skipped: number; cached: number };
}

export function runHead(r: RunRow): RunHead {
  return {
    id: r.id,
    pipeline: r.pipeline,
    status: r.status,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    durationMs: r.duration_ms,
    lowerBoundMs: r.lower_bound_ms,
    predictedMakespanMs: r.predicted_makespan_ms,
    concurrency: r.concurrency,
    capacityCpu: r.capacity_cpu,
    gitSha: r.git_sha,
    host: r.host,
    argv: jsonList(r.argv),
    tasks: {
      total: r.tasks_total,
      succeeded: r.tasks_succeeded,
      failed: r.tasks_failed,
      skipped: r.tasks_skipped,
      cached: r.tasks_cached,
    },
  };
}

/** One bar of the Gantt. */
export interface GanttTask {
  id: string;
  status: string;
  cache: string | null;
  cacheHit: boolean;
  critical: boolean;
  startedAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
  predictedMs: number | null;
  cpuSeconds: number | null;
  peakRssBytes: number | null;
  savedMs: number | null;
  attempts: number;
  reason: string | null;
}

export interface RunView {
  run: RunHead;
  /** The critical path the run planned (its tasks are marked `critical`). */
  criticalPath: string[];
  /** Bars in start order; tasks not started yet last. */
  tasks: GanttTask[];
  /** The server's clock, so a running bar can be drawn up to now. */
  now: number;
}

/** A run and its Gantt rows, or undefined when no run has that id. */
export async function runView(store: Store, id: string, now = Date.now()): Promise<RunView | undefined> {
  const run = await store.dashboard.runById(id);
  if (!run) return undefined;
  const criticalPath = jsonList(run.critical_path);
  const critical = new Set(criticalPath);
  const rows = await store.runs.taskRuns(id);
  const tasks = rows
    .map(
      (t): GanttTask => ({
        id: t.task_id,
        status: t.status,
        cache: t.cache,
        cacheHit: isCacheHit(t.cache),
        critical: critical.has(t.task_id),
        startedAt: t.started_at,
        endedAt: t.ended_at,
        durationMs: t.duration_ms,
        predictedMs: t.predicted_ms,
        cpuSeconds: t.cpu_seconds,
        peakRssBytes: t.peak_rss_bytes,
        savedMs: t.saved_ms,
        attempts: t.attempts,
        reason: t.reason,
      }),
    )
    .sort(
      (a, b) =>
        (a.startedAt ?? Number.MAX_SAFE_INTEGER) - (b.startedAt ?? Number.MAX_SAFE_INTEGER) ||
        a.id.localeCompare(b.id),
    );
  return { run: runHead(run), criticalPath, tasks, now };
}

/** A point of a task's duration trend. */
export interface TaskPoint {
  runId: string;
  startedAt: number;
  durationMs: number;
  predictedMs: number | null;
}

export interface TaskView {
  pipeline: string;
  taskId: string;
  /** Successful executions that ran (cache hits excluded), oldest first. */
  points: TaskPoint[];
  /** Rolling p50/p95 over the 20 executions up to each point. */
  band: { p50: number; p95: number }[];
  /** Change points of the trend: the first run of each new regime. */
  changePoints: {
    index: number;
    runId: string;
    startedAt: number;
    before: number;
    after: number;
    change: number;
  }[];
  /** Stored regression findings of this task, with their acknowledgements. */
  findings: Finding[];
  /** Over the pipeline's newest 200 runs. */
  cacheHitRate: number | null;
  failures: number;
  /** Runs the hit rate and failures were counted over (those of the 200 that had this task). */
  samples: number;
  rightSizing: RightSizing | null;
}

const BAND = 20;
/** Executions a trend shows by default: change-point detection grows with the square of this. */
const TREND_POINTS = 300;

/** How many of the pipeline's newest runs the cache hit rate and failures are counted over. */
const OUTCOME_RUNS = 200;

/** A task's history (its newest `limit` executions), or undefined when it never ran. */
export async function taskView(
  store: Store,
  o: { pipeline: string; taskId: string; limit?: number },
): Promise<TaskView | undefined> {
  const [rows, outcomes] = await Promise.all([
    store.dashboard.taskExecutions({ ...o, limit: o.limit ?? TREND_POINTS }),
    store.dashboard.taskOutcomes({ ...o, runs: OUTCOME_RUNS }),
  ]);
  if (!rows.length && !outcomes.length) return undefined;
  rows.reverse();
  const points = rows.map((r) => ({
    runId: r.run_id,
    startedAt: r.started_at,
    durationMs: r.duration_ms,
    predictedMs: r.predicted_ms,
  }));
  const values = points.map((p) => p.durationMs);
  const band = values.map((_, i) => {
    const w = values.slice(Math.max(0, i - BAND + 1), i + 1);
    return { p50: quantile(w, 0.5), p95: quantile(w, 0.95) };
  });
  const changePoints = detectChangePoints(values).map((c) => ({
    index: c.index,
    runId: points[c.index]!.runId,
    startedAt: points[c.index]!.startedAt,
    before: c.meanBefore,
    after: c.meanAfter,
    change: c.change,
  }));
  const hits = outcomes.filter((r) => isCacheHit(r.cache)).length;
  const misses = outcomes.filter((r) => r.cache === 'miss').length;
  const findings = (await listFindings(store, o.pipeline)).filter((f) => f.subject === o.taskId);
  const last = rows.at(-1);
  const samples = rows
    .filter((r) => r.duration_ms > 0)
    .map((r) => ({
      ...(r.cpu_seconds !== null ? { cpu: (r.cpu_seconds * 1000) / r.duration_ms } : {}),
      ...(r.peak_rss_bytes !== null ? { memory: r.peak_rss_bytes } : {}),
    }));
  return {
    pipeline: o.pipeline,
    taskId: o.taskId,
    points,
    band,
    changePoints,
    findings,
    cacheHitRate: hits + misses ? hits / (hits + misses) : null,
    failures: outcomes.filter((r) => r.status === 'failed').length,
    samples: outcomes.length,
    rightSizing:
      last && samples.length
        ? rightSize({
            taskId: o.taskId,
            samples,
            request: {
              ...(last.cpu_request !== null ? { cpu: last.cpu_request } : {}),
              ...(last.memory_request !== null ? { memory: last.memory_request } : {}),
            },
            poolCpu: Math.max(1, last.cpu_request ?? 1),
          })
        : null,
  };
}

export interface DeploymentView {
  deployment: {
    id: string;
    kind: string;
    environment: string;
    version: string;
    release: string;
    status: string;
    startedAt: number;
    endedAt: number | null;
    durationMs: number | null;
    gitSha: string | null;
    artifactBytes: number;
    bytesSent: number;
    chunksTotal: number;
    chunksReused: number;
    reason: string | null;
  };
  waves: {
    wave: number;
    targets: TargetView[];
  }[];
  now: number;
}

/** A deployment with its targets grouped by wave, or undefined. */
export async function deploymentView(
  store: Store,
  id: string,
  now = Date.now(),
): Promise<DeploymentView | undefined> {
  const got = await store.dashboard.deploymentWithTargets(id);
  if (!got) return undefined;
  const d = got.deployment;
  const waves = new Map<number, DeploymentView['waves'][number]['targets']>();
  for (const t of got.targets) {
    const list = waves.get(t.wave) ?? [];
    list.push(targetView(t));
    waves.set(t.wave, list);
  }
  return {
    deployment: {
      id: d.id,
      kind: d.kind,
      environment: d.environment,
      version: d.version,
      release: d.release,
      status: d.status,
      startedAt: d.started_at,
      endedAt: d.ended_at,
      durationMs: d.duration_ms,
      gitSha: d.git_sha,
      artifactBytes: d.artifact_bytes,
      bytesSent: d.bytes_sent,
      chunksTotal: d.chunks_total,
      chunksReused: d.chunks_reused,
      reason: d.reason,
    },
    waves: [...waves]
      .sort(([a], [b]) => a - b)
      .map(([wave, targets]) => ({
        wave,
        targets: targets.sort((a, b) => a.region.localeCompare(b.region) || a.target.localeCompare(b.target)),
      })),
    now,
  };
}
