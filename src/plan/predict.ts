/** Predicted duration and resource use of each task, learned from history. */

import type { Capacity } from '../config/capacity.js';
import type { Pipeline, TaskConfig } from '../config/types.js';
import type { TaskGraph } from '../graph/graph.js';
import type { RecentExecution } from '../store/runs.js';
import type { Store } from '../store/store.js';
import { quantile } from '../util/quantile.js';
import type { SimTask } from './simulate.js';
import { TARGET_PERCENTILE, vpaTarget } from './vpa.js';

export interface Prediction {
  durationMs: number;
  cpu: number;
  memory: number;
  /** Successful uncached executions the estimate rests on (0 = prior). */
  samples: number;
}

/** Duration assumed for a task never seen, when no other task has history either. */
const PRIOR_MS = 1000;
const RECENT = 10;

/** Median of the most recent samples: robust to outliers, quick to follow a real change. */
export function robustDuration(durations: readonly number[]): number | undefined {
  const recent = durations.slice(0, RECENT);
  return recent.length ? quantile(recent, 0.5) : undefined;
}

/** Predicts from rows (newest first); declared resources win over learned ones. */
export function predictTask(
  task: TaskConfig,
  rows: readonly Pick<RecentExecution, 'duration_ms' | 'cpu_seconds' | 'peak_rss_bytes'>[],
  priorMs: number,
): Prediction {
  const durations = rows.map((r) => r.duration_ms ?? 0).filter((d) => d > 0);
  const durationMs = robustDuration(durations) ?? priorMs;
  const cores = rows
    .filter((r) => (r.duration_ms ?? 0) > 0 && r.cpu_seconds !== null)
    .map((r) => (r.cpu_seconds! * 1000) / r.duration_ms!);
  const rss = rows.map((r) => r.peak_rss_bytes ?? 0).filter((b) => b > 0);
  return {
    durationMs,
    cpu:
      task.resources?.cpu ?? (cores.length ? Math.max(1, Math.round(quantile(cores, TARGET_PERCENTILE))) : 1),
    memory: task.resources?.memory ?? Math.round(vpaTarget(rss) ?? 0),
    samples: durations.length,
  };
}

/** What a task already settled (outputs in place) is predicted to take: nothing. */
const SETTLED: Prediction = { durationMs: 0, cpu: 1, memory: 0, samples: 0 };

/**
 * Predictions for every task of the graph; unknown tasks get the median of known ones. Tasks in
 * `settled` are done before anything starts: they are predicted at zero and not looked up.
 */
export async function predict(
  store: Store | undefined,
  pipeline: Pipeline,
  graph: TaskGraph,
  settled: ReadonlySet<string> = new Set(),
): Promise<Map<string, Prediction>> {
  const open = graph.ids.filter((id) => !settled.has(id));
  const rows =
    store && open.length ? await store.runs.recentExecutions(open) : new Map<string, RecentExecution[]>();
  const known = open
    .map((id) => robustDuration((rows.get(id) ?? []).map((r) => r.duration_ms ?? 0)))
    .filter((d) => d !== undefined);
  const prior = known.length ? quantile(known as number[], 0.5) : PRIOR_MS;
  return new Map(
    graph.ids.map((id) => [
      id,
      settled.has(id) ? SETTLED : predictTask(pipeline.tasks.get(id)!, rows.get(id) ?? [], prior),
    ]),
  );
}

/** The simulator's view of the graph under the given predictions. */
export function simTasks(
  graph: TaskGraph,
  predictions: ReadonlyMap<string, Prediction>,
  cap?: Capacity,
): SimTask[] {
  return graph.ids.map((id) => {
    const p = predictions.get(id)!;
    return {
      id,
      durationMs: p.durationMs,
      cpu: cap ? Math.min(p.cpu, cap.cpu) : p.cpu,
      memory: cap ? Math.min(p.memory, cap.memory) : p.memory,
      needs: graph.deps(id).filter((d) => graph.has(d)),
    };
  });
}
