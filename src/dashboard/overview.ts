/**
 * The executive summary: the last 30 days against the 30 before (pipeline and deploy time,
 * success rate, cache hit rate and time saved), DORA tiers, SLO status and error budget, open
 * regressions and the top recommendations. Run statistics are aggregated from the store without
 * loading every task row; DORA, SLIs and recommendations are the functions `slipway report` uses.
 */
import type { Deployment, DeploymentOutcome } from '../analyze/deployments.js';
import { type DoraMetrics, doraMetrics } from '../analyze/dora.js';
import { type Finding, listFindings } from '../analyze/findings-store.js';
import { loadRuns } from '../analyze/history.js';
import { type Recommendation, recommend } from '../analyze/recommend/index.js';
import { evaluateSlis, type SliResult, sliTargets } from '../analyze/slis.js';
import { capacityFor, machineCores } from '../config/capacity.js';
import type { Pipeline } from '../config/types.js';
import { TaskGraph } from '../graph/graph.js';
import { predict } from '../plan/predict.js';
import type { DeploymentHealth } from '../store/dashboard-deployments.js';
import type { WindowRun } from '../store/dashboard-queries.js';
import type { DeploymentsTable } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { quantile } from '../util/quantile.js';

const DAY = 86_400_000;
export const WINDOW_MS = 30 * DAY;

export interface WindowStats {
  from: number;
  to: number;
  runs: number;
  successRate: number | null;
  pipelineP50Ms: number | null;
  pipelineP95Ms: number | null;
  deployments: number;
  deployP50Ms: number | null;
  deployP95Ms: number | null;
  cacheHitRate: number | null;
  cacheSavedMs: number;
  dora: DoraMetrics;
}

export interface Overview {
  pipeline: string;
  generatedAt: number;
  current: WindowStats;
  previous: WindowStats;
  slis: SliResult[];
  openRegressions: Finding[];
  /** Null when serve runs without the pipeline's slipway.yml (recommendations simulate its graph). */
  recommendations: Recommendation[] | null;
  recommendationsNote: string | null;
}

const OUTCOMES = new Set<string>(['success', 'failed', 'rolled-back', 'running', 'interrupted', 'cancelled']);

/** A deployments-table row as analytics sees it. */
function toDeployment(r: DeploymentsTable): Deployment {
  const d: Deployment = {
    id: r.id,
    environment: r.environment,
    status: (OUTCOMES.has(r.status) ? r.status : 'failed') as DeploymentOutcome,
    startedAt: r.started_at,
    source: 'deployments',
    bytesSent: r.bytes_sent,
    artifactBytes: r.artifact_bytes,
  };
  if (r.kind === 'rollback') d.kind = 'rollback';
  if (r.ended_at !== null) d.endedAt = r.ended_at;
  if (r.duration_ms !== null) d.durationMs = r.duration_ms;
  if (r.git_sha !== null) d.gitSha = r.git_sha;
  if (r.git_commit_at !== null) d.gitCommitAt = r.git_commit_at;
  return d;
}

/** Deployments as analytics sees them, with their targets' health samples (availability's events). */
export function withHealth(
  rows: readonly DeploymentsTable[],
  health: readonly DeploymentHealth[],
): Deployment[] {
  const byId = new Map(health.map((h) => [h.deployment_id, h]));
  return rows.map((r) => {
    const d = toDeployment(r);
    const h = byId.get(r.id);
    if (h) {
      d.healthOk = h.ok;
      d.healthFailed = h.failed;
    }
    return d;
  });
}

const q = (xs: number[], p: number): number | null => (xs.length ? quantile(xs, p) : null);

function windowStats(
  runs: readonly WindowRun[],
  cache: { hits: number; misses: number; savedMs: number },
  deployments: readonly Deployment[],
  from: number,
  to: number,
): WindowStats {
  const finished = runs.filter((r) => r.status === 'success' || r.status === 'failed');
  const ok = runs.filter((r) => r.status === 'success' && r.duration_ms !== null).map((r) => r.duration_ms!);
  const deps = deployments.filter((d) => d.startedAt >= from && d.startedAt < to);
  const depMs = deps
    .filter((d) => d.status === 'success' && d.durationMs !== undefined)
    .map((d) => d.durationMs!);
  return {
    from,
    to,
    runs: runs.length,
    successRate: finished.length
      ? finished.filter((r) => r.status === 'success').length / finished.length
      : null,
    pipelineP50Ms: q(ok, 0.5),
    pipelineP95Ms: q(ok, 0.95),
    deployments: deps.length,
    deployP50Ms: q(depMs, 0.5),
    deployP95Ms: q(depMs, 0.95),
    cacheHitRate: cache.hits + cache.misses ? cache.hits / (cache.hits + cache.misses) : null,
    cacheSavedMs: cache.savedMs,
    dora: doraMetrics(deps, from, to),
  };
}

export interface OverviewOptions {
  pipeline: string;
  /** The pipeline's configuration when serve runs beside its slipway.yml. */
  config?: Pipeline;
  /** Deployments of the last 60 days (shared by every pipeline's overview). */
  deployments: readonly DeploymentsTable[];
  now: number;
}

/** Builds the overview of one pipeline. */
export async function buildOverview(store: Store, o: OverviewOptions): Promise<Overview> {
  const { now, pipeline } = o;
  const mid = now - WINDOW_MS;
  const start = mid - WINDOW_MS;
  const [cur, prev, curCache, prevCache, findings, health] = await Promise.all([
    store.dashboard.runsInWindow({ pipeline, from: mid, to: now + 1 }),
    store.dashboard.runsInWindow({ pipeline, from: start, to: mid }),
    store.dashboard.cacheTotals({ pipeline, from: mid, to: now + 1 }),
    store.dashboard.cacheTotals({ pipeline, from: start, to: mid }),
    listFindings(store, pipeline),
    store.dashboard.deploymentHealth({ from: start, to: now + 1 }),
  ]);
  const deployments = withHealth(o.deployments, health);
  const config = o.config?.name === pipeline ? o.config : undefined;
  const slis = evaluateSlis(
    {
      runs: cur.map((r) => ({
        status: r.status,
        startedAt: r.started_at,
        ...(r.ended_at !== null ? { endedAt: r.ended_at } : {}),
      })),
      deployments,
      now,
    },
    { ...sliTargets(config?.raw.slis), periodMs: WINDOW_MS },
  );
  const rec = config
    ? await recommendationsFor(store, config)
    : { list: null, note: 'start slipway serve beside this pipeline’s slipway.yml (-f) for recommendations' };
  return {
    pipeline,
    generatedAt: now,
    current: windowStats(cur, curCache, deployments, mid, now + 1),
    previous: windowStats(prev, prevCache, deployments, start, mid),
    slis,
    openRegressions: findings.filter((f) => f.open),
    recommendations: rec.list,
    recommendationsNote: rec.note,
  };
}

/** Ranked recommendations with their simulated saving, from the newest 200 runs. */
async function recommendationsFor(
  store: Store,
  pipeline: Pipeline,
): Promise<{ list: Recommendation[]; note: string | null }> {
  const runs = await loadRuns(store, { pipeline: pipeline.name, limit: 200 });
  const graph = TaskGraph.fromPipeline(pipeline);
  const predictions = await predict(store, pipeline, graph);
  const latest = runs.findLast((r) => r.status !== 'running');
  const { recommendations } = recommend({
    pipeline,
    graph,
    predictions,
    capacity: capacityFor(pipeline, latest?.concurrency),
    runs,
    cores: machineCores(),
  });
  return { list: recommendations.slice(0, 5), note: null };
}
