/**
 * The brief's `DeploymentPerformanceMetrics` from history: durations (total and per tag),
 * resources, throughput, quality and caching. Pure functions over loaded records.
 */
import type { Deployment } from './deployments.js';
import { isFailure, isFinished } from './deployments.js';
import { isCacheHit, type RunRecord, type TaskRecord } from './history.js';
import { mean, type Summary, summarize } from './stats.js';

const HOUR = 3_600_000;

/** Parallel efficiency of a run: lower bound / actual (1 = as fast as any schedule could be). */
export function parallelEfficiency(run: Pick<RunRecord, 'lowerBoundMs' | 'durationMs'>): number | undefined {
  if (!run.lowerBoundMs || !run.durationMs) return undefined;
  return Math.min(1, run.lowerBoundMs / run.durationMs);
}

/** CPU seconds used / (CPU capacity × wall time). */
export function cpuUtilization(
  run: Pick<RunRecord, 'tasks' | 'capacityCpu' | 'durationMs'>,
): number | undefined {
  if (!run.durationMs || !run.capacityCpu) return undefined;
  const measured = run.tasks.filter((t) => t.cpuSeconds !== null);
  if (!measured.length) return undefined;
  const cpuMs = measured.reduce((s, t) => s + t.cpuSeconds! * 1000, 0);
  return cpuMs / (run.capacityCpu * run.durationMs);
}

/** Wall time during which at least one of the tasks ran (union of their intervals). */
export function coveredMs(tasks: readonly TaskRecord[]): number {
  const spans = tasks
    .filter((t) => t.startedAt !== null && t.endedAt !== null)
    .map((t) => [t.startedAt!, t.endedAt!] as const)
    .sort((a, b) => a[0] - b[0]);
  let total = 0;
  let curStart = Number.NaN;
  let curEnd = Number.NaN;
  for (const [s, e] of spans) {
    if (Number.isNaN(curEnd) || s > curEnd) {
      if (!Number.isNaN(curEnd)) total += curEnd - curStart;
      curStart = s;
      curEnd = e;
    } else curEnd = Math.max(curEnd, e);
  }
  if (!Number.isNaN(curEnd)) total += curEnd - curStart;
  return total;
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** hits / (hits + misses); tasks with caching disabled are not counted. */
  hitRate: number | null;
  /** Time the hits saved (recorded per hit: the task's usual uncached duration minus the restore). */
  savedMs: number;
  savedPerRunMs: number;
}

/** Cache hit rate and time saved over runs. */
export function cacheStats(runs: readonly RunRecord[]): CacheStats {
  let hits = 0;
  let misses = 0;
  let savedMs = 0;
  for (const r of runs) {
    for (const t of r.tasks) {
      if (isCacheHit(t.cache)) {
        hits++;
        savedMs += Math.max(0, t.savedMs ?? 0);
      } else if (t.cache === 'miss') misses++;
    }
  }
  return {
    hits,
    misses,
    hitRate: hits + misses ? hits / (hits + misses) : null,
    savedMs,
    savedPerRunMs: runs.length ? savedMs / runs.length : 0,
  };
}

export interface PerformanceMetrics {
  window: { from: number; to: number; runs: number };
  pipelineMetrics: {
    total: Summary;
    /** Wall time covered by tasks of each tag (build, test, deploy, validate, …) per run. */
    byTag: Record<string, Summary>;
  };
  resourceMetrics: {
    cpuUtilization: number | null;
    cpuSeconds: number;
    peakMemoryBytes: number | null;
    /** Bytes per second sent by recorded deployments, when the deploy feature measures them. */
    networkThroughput: number | null;
  };
  throughputMetrics: {
    runsPerHour: number | null;
    deploymentsPerHour: number | null;
    artifactTransferRate: number | null;
    parallelExecutionEfficiency: number | null;
  };
  qualityMetrics: {
    successRate: number | null;
    failureRate: number | null;
    retryRate: number | null;
    rollbackRate: number | null;
    errorRate: number | null;
    performanceRegressionRate: number | null;
  };
  cache: CacheStats;
}

function ratio(n: number, d: number): number | null {
  return d ? n / d : null;
}

/**
 * Metrics over runs and deployments in [from, to]. `regressions` is the number of slowdowns whose
 * new regime started inside the window (for the regression rate per run).
 */
export function performanceMetrics(opts: {
  runs: readonly RunRecord[];
  deployments: readonly Deployment[];
  from: number;
  to: number;
  regressions: number;
}): PerformanceMetrics {
  const { from, to } = opts;
  const runs = opts.runs.filter((r) => r.startedAt >= from && r.startedAt <= to);
  const finishedRuns = runs.filter((r) => r.status !== 'running');
  const ok = runs.filter((r) => r.status === 'success');
  const deployments = opts.deployments.filter((d) => d.startedAt >= from && d.startedAt <= to);
  const finishedDeploys = deployments.filter(isFinished);
  const hours = Math.max((to - from) / HOUR, 1 / 60);

  const tags = new Set(ok.flatMap((r) => r.tasks.flatMap((t) => t.tags)));
  const byTag: Record<string, Summary> = {};
  for (const tag of [...tags].sort()) {
    byTag[tag] = summarize(
      ok
        .map((r) => r.tasks.filter((t) => t.tags.includes(tag) && t.status === 'success'))
        .filter((ts) => ts.length > 0)
        .map(coveredMs),
    );
  }

  const utils = ok.map(cpuUtilization).filter((u): u is number => u !== undefined);
  const effs = ok.map(parallelEfficiency).filter((e): e is number => e !== undefined);
  const allTasks = runs.flatMap((r) => r.tasks);
  const rss = allTasks.map((t) => t.peakRssBytes).filter((b): b is number => b !== null && b > 0);
  const executed = allTasks.filter((t) => t.attempts > 0);
  const sent = finishedDeploys.filter((d) => d.bytesSent !== undefined && d.durationMs);
  const rate = sent.length
    ? sent.reduce((s, d) => s + d.bytesSent!, 0) / (sent.reduce((s, d) => s + d.durationMs!, 0) / 1000)
    : null;
  const artifacts = finishedDeploys.filter((d) => d.artifactBytes !== undefined && d.durationMs);
  const artifactRate = artifacts.length
    ? artifacts.reduce((s, d) => s + d.artifactBytes!, 0) /
      (artifacts.reduce((s, d) => s + d.durationMs!, 0) / 1000)
    : null;

  return {
    window: { from, to, runs: runs.length },
    pipelineMetrics: {
      total: summarize(ok.map((r) => r.durationMs).filter((d): d is number => d !== null)),
      byTag,
    },
    resourceMetrics: {
      cpuUtilization: utils.length ? mean(utils) : null,
      cpuSeconds: allTasks.reduce((s, t) => s + (t.cpuSeconds ?? 0), 0),
      peakMemoryBytes: rss.length ? Math.max(...rss) : null,
      networkThroughput: rate,
    },
    throughputMetrics: {
      runsPerHour: runs.length ? runs.length / hours : null,
      deploymentsPerHour: deployments.length ? finishedDeploys.length / hours : null,
      artifactTransferRate: artifactRate,
      parallelExecutionEfficiency: effs.length ? mean(effs) : null,
    },
    qualityMetrics: {
      successRate: ratio(ok.length, finishedRuns.length),
      failureRate: ratio(finishedRuns.filter((r) => r.status === 'failed').length, finishedRuns.length),
      retryRate: ratio(executed.filter((t) => t.attempts > 1).length, executed.length),
      rollbackRate: ratio(
        finishedDeploys.filter((d) => d.status === 'rolled-back').length,
        finishedDeploys.length,
      ),
      errorRate: ratio(finishedDeploys.filter(isFailure).length, finishedDeploys.length),
      performanceRegressionRate: ratio(opts.regressions, ok.length),
    },
    cache: cacheStats(runs),
  };
}
