/** `slipway report`: every analysis over the stored history in one JSON-serializable object. */

import { capacityFor, machineCores } from '../config/capacity.js';
import type { Pipeline } from '../config/types.js';
import { analyzeConfigured } from '../containers/configured.js';
import type { RunStatus } from '../events.js';
import { TaskGraph } from '../graph/graph.js';
import { predict } from '../plan/predict.js';
import { CHART_HPA } from '../scale/hpa.js';
import {
  type AutoscaleReplay,
  DEFAULT_WORKER_HOUR_PRICE,
  replayAutoscaler,
  type TaskLoad,
} from '../scale/hpa-replay.js';
import type { Store } from '../store/store.js';
import { type AppEnvironment, appValidationReport } from './app-validation.js';
import { type BudgetResult, checkBudgets } from './budgets.js';
import { CHANGE_POINT_DEFAULTS, type ChangePointOptions } from './change-points.js';
import { type WindowAdvice, windowAdvice } from './deploy-windows.js';
import { type DoraMetrics, doraMetrics } from './dora.js';
import { ENVIRONMENT_SUBJECT, type EnvironmentShift } from './environment.js';
import type { Finding } from './findings-store.js';
import { type GrowthReport, growthReport } from './growth.js';
import { isCacheHit, loadHistory, type RunRecord, type TaskRecord } from './history.js';
import {
  coveredMs,
  cpuUtilization,
  type PerformanceMetrics,
  parallelEfficiency,
  performanceMetrics,
} from './metrics.js';
import { containerRecommendations } from './recommend/containers.js';
import { type Recommendation, recommend } from './recommend/index.js';
import { refreshRegressions } from './refresh.js';
import type { RegressionScan, Suspect } from './regressions.js';
import { type ResourceReport, resourceReport } from './resources.js';
import type { RightSizing } from './right-size.js';
import { evaluateSlis, type SliResult, sliTargets } from './slis.js';
import { summarize } from './stats.js';

export interface TaskStats {
  id: string;
  /** Executions (not cache hits) in the window. */
  executions: number;
  p50Ms: number | null;
  p95Ms: number | null;
  cacheHitRate: number | null;
  tags: string[];
}

/** One run as the report lists it. */
export interface RunStats {
  id: string;
  status: RunStatus;
  startedAt: string;
  durationMs: number | null;
  lowerBoundMs: number | null;
  parallelEfficiency: number | null;
  cpuUtilization: number | null;
  /** Wall time covered by each tag's tasks. */
  byTagMs: Record<string, number>;
  tasks: number;
  cached: number;
  gitSha: string | null;
}

export interface AnalyticsReport {
  version: 1;
  pipeline: string;
  generatedAt: string;
  window: { from: string | null; to: string; runs: number };
  latestRun: { id: string; status: RunStatus; startedAt: string; durationMs: number | null } | null;
  metrics: PerformanceMetrics;
  /** Every run in the window, oldest first. */
  runs: RunStats[];
  tasks: TaskStats[];
  /** `environment`: moments when most tasks shifted together, each task judged against the shift. */
  regressions: {
    findings: Finding[];
    suspects: Suspect[];
    environment: EnvironmentShift[];
    /** How much of the history can carry a change point: series with at least `needed` points. */
    coverage: { series: number; analysable: number; needed: number; mostPoints: number };
  };
  slis: SliResult[];
  dora: DoraMetrics & { source: 'deployments' | 'run' | 'none' };
  rightSizing: RightSizing[];
  recommendations: Recommendation[];
  budgets: BudgetResult[];
  /** Disk I/O per task, pool memory utilization, network bytes and transfer rate per deployment. */
  resources: ResourceReport;
  /** Hours of the week when deployments and heavy runs went worst, and a recommended window. */
  windows: WindowAdvice;
  /** Trends of runs per day and CPU-seconds per run, projected into the capacity they need. */
  growth: GrowthReport;
  /** Start-up time, memory and CPU of the app after each deploy, per environment, with change points. */
  appValidation: AppEnvironment[];
  /** The queue length of `--queue` runs replayed through the chart's HPA; null without samples. */
  autoscaling: AutoscaleReplay | null;
}

function taskStats(runs: readonly RunRecord[]): TaskStats[] {
  const by = new Map<string, { durations: number[]; hits: number; misses: number; tags: Set<string> }>();
  for (const r of runs) {
    for (const t of r.tasks) {
      const s = by.get(t.taskId) ?? { durations: [], hits: 0, misses: 0, tags: new Set<string>() };
      for (const tag of t.tags) s.tags.add(tag);
      if (isCacheHit(t.cache)) s.hits++;
      else if (t.cache === 'miss') s.misses++;
      if (t.status === 'success' && !isCacheHit(t.cache) && t.durationMs !== null)
        s.durations.push(t.durationMs);
      by.set(t.taskId, s);
    }
  }
  return [...by]
    .map(([id, s]) => {
      const sum = summarize(s.durations);
      return {
        id,
        executions: s.durations.length,
        p50Ms: s.durations.length ? sum.p50 : null,
        p95Ms: s.durations.length ? sum.p95 : null,
        cacheHitRate: s.hits + s.misses ? s.hits / (s.hits + s.misses) : null,
        tags: [...s.tags].sort(),
      };
    })
    .sort((a, b) => (b.p50Ms ?? 0) - (a.p50Ms ?? 0) || a.id.localeCompare(b.id));
}

function runStats(r: RunRecord): RunStats {
  const tags = [...new Set(r.tasks.flatMap((t) => t.tags))].sort();
  return {
    id: r.id,
    status: r.status,
    startedAt: new Date(r.startedAt).toISOString(),
    durationMs: r.durationMs,
    lowerBoundMs: r.lowerBoundMs,
    parallelEfficiency: parallelEfficiency(r) ?? null,
    cpuUtilization: cpuUtilization(r) ?? null,
    byTagMs: Object.fromEntries(
      tags.map((tag) => [tag, coveredMs(r.tasks.filter((t) => t.tags.includes(tag)))]),
    ),
    tasks: r.tasks.length,
    cached: r.tasks.filter((t) => isCacheHit(t.cache)).length,
    gitSha: r.gitSha,
  };
}

/** Series long enough for a change point: two regimes of the minimum length. */
function coverage(
  scan: RegressionScan,
  detection?: ChangePointOptions,
): AnalyticsReport['regressions']['coverage'] {
  const needed = 2 * (detection?.minSegment ?? CHANGE_POINT_DEFAULTS.minSegment);
  const series = scan.series.filter((s) => s.subject !== ENVIRONMENT_SUBJECT);
  return {
    series: series.length,
    analysable: series.filter((s) => s.runIds.length >= needed).length,
    needed,
    mostPoints: Math.max(0, ...series.map((s) => s.runIds.length)),
  };
}

/** The newest run that finished (budgets and checks judge it). */
export function latestFinished(runs: readonly RunRecord[]): RunRecord | undefined {
  return runs.findLast((r) => r.status !== 'running');
}

/** Builds the report; findings are re-detected and stored on the way. */
export async function buildReport(
  store: Store,
  pipeline: Pipeline,
  opts: {
    since?: number;
    now?: number;
    detection?: ChangePointOptions;
    growth?: { targetUtilization?: number; costPerCpuHour?: number };
    /** Price of one worker-hour for the autoscaling replay (default DEFAULT_WORKER_HOUR_PRICE). */
    costPerWorkerHour?: number;
    /** How long a new worker takes to start in the replay (default DEFAULT_WORKER_START_SECONDS). */
    workerStartSeconds?: number;
  } = {},
): Promise<AnalyticsReport> {
  const now = opts.now ?? Date.now();
  const history = await loadHistory(store, { pipeline: pipeline.name });
  const regressions = await refreshRegressions(store, pipeline, history.runs, {
    now,
    ...(opts.detection ? { detection: opts.detection } : {}),
  });
  const from = opts.since ?? history.runs[0]?.startedAt ?? now;
  const runs = history.runs.filter((r) => r.startedAt >= from);
  const latest = latestFinished(history.runs);
  const newRegimes = regressions.findings.filter(
    (f) =>
      f.active && f.direction === 'slower' && f.runStartedAt >= from && f.subject !== ENVIRONMENT_SUBJECT,
  ).length;

  const graph = TaskGraph.fromPipeline(pipeline);
  const predictions = await predict(store, pipeline, graph);
  const capacity = capacityFor(pipeline, latest?.concurrency);
  const { recommendations, rightSizing } = recommend({
    pipeline,
    graph,
    predictions,
    capacity,
    runs: history.runs,
    cores: machineCores(),
  });
  // Dockerfile and manifest findings that save time rank among the pipeline's own.
  const containers = analyzeConfigured(pipeline, history.runs);
  if (containers) {
    recommendations.push(...containerRecommendations(containers.findings));
    recommendations.sort((a, b) => b.savedMsPerRun - a.savedMsPerRun || a.target.localeCompare(b.target));
  }

  const deployments = history.deployments;
  const dora = doraMetrics(deployments, from, now);
  const slis = evaluateSlis(
    {
      runs: history.runs.map((r) => {
        const u = cpuUtilization(r);
        return {
          status: r.status,
          startedAt: r.startedAt,
          ...(r.endedAt !== null ? { endedAt: r.endedAt } : {}),
          ...(u !== undefined ? { utilization: u } : {}),
        };
      }),
      deployments,
      now,
    },
    sliTargets(pipeline.raw.slis),
  );

  return {
    version: 1,
    pipeline: pipeline.name,
    generatedAt: new Date(now).toISOString(),
    window: {
      from: opts.since !== undefined ? new Date(from).toISOString() : null,
      to: new Date(now).toISOString(),
      runs: runs.length,
    },
    latestRun: latest
      ? {
          id: latest.id,
          status: latest.status,
          startedAt: new Date(latest.startedAt).toISOString(),
          durationMs: latest.durationMs,
        }
      : null,
    metrics: performanceMetrics({ runs, deployments, from, to: now, regressions: newRegimes }),
    runs: runs.map(runStats),
    tasks: taskStats(runs),
    regressions: {
      findings: regressions.findings,
      suspects: regressions.suspects,
      environment: regressions.scan.environment,
      coverage: coverage(regressions.scan, opts.detection),
    },
    slis,
    dora: { ...dora, source: deployments.length ? deployments[0]!.source : 'none' },
    rightSizing,
    recommendations,
    budgets: latest ? checkBudgets(pipeline, history.runs, latest) : [],
    resources: resourceReport(runs, await store.transfers.list(from)),
    windows: windowAdvice(
      deployments.filter((d) => d.startedAt >= from),
      runs,
    ),
    growth: growthReport(runs, { now, ...opts.growth }),
    appValidation: appValidationReport(await store.appValidations.since(opts.since)),
    autoscaling: await autoscaling(store, pipeline.name, history.runs, {
      from,
      now,
      price: opts.costPerWorkerHour,
      workerStartSeconds: opts.workerStartSeconds,
    }),
  };
}

/**
 * A task's load on the worker that ran it. Its recorded start is when it became ready on the
 * coordinator (it may have waited in the queue); the worker measured its duration, which ends
 * at its recorded end.
 */
function taskLoad(t: TaskRecord): TaskLoad[] {
  if (isCacheHit(t.cache) || t.endedAt === null || !t.durationMs || t.durationMs <= 0) return [];
  return [
    {
      startedAt: t.endedAt - t.durationMs,
      endedAt: t.endedAt,
      cpu: (t.cpuSeconds ?? 0) / (t.durationMs / 1000),
      memory: t.peakRssBytes ?? 0,
    },
  ];
}

/**
 * The recorded queue of the window's `--queue` runs and their tasks' CPU and memory, replayed
 * through the chart's HPA.
 */
async function autoscaling(
  store: Store,
  pipeline: string,
  history: readonly RunRecord[],
  o: { from: number; now: number; price: number | undefined; workerStartSeconds: number | undefined },
): Promise<AutoscaleReplay | null> {
  const samples = await store.queueSamples.ofPipeline(pipeline, o.from);
  const queued = new Set(samples.map((s) => s.runId));
  return (
    replayAutoscaler({
      samples,
      tasks: history.filter((r) => queued.has(r.id)).flatMap((r) => r.tasks.flatMap(taskLoad)),
      runs: queued.size,
      spec: CHART_HPA,
      from: o.from,
      to: o.now,
      ...(o.workerStartSeconds !== undefined ? { workerStartSeconds: o.workerStartSeconds } : {}),
      price:
        o.price === undefined
          ? { perWorkerHour: DEFAULT_WORKER_HOUR_PRICE, from: 'default' }
          : { perWorkerHour: o.price, from: '--cost-per-worker-hour' },
    }) ?? null
  );
}
