/**
 * The capacity page: the what-if curve of `slipway plan --what-if` (the simulator over the
 * pipeline's graph and predictions at 1, 2, 4 … CPUs, with the knee and the cost per run from
 * src/analyze/capacity-curve.ts) and the growth projection of `slipway report` (runs per day and
 * CPU-seconds per run, the pool and workers needed today, in 30 and 90 days, src/analyze/growth.ts).
 * The curve needs the pipeline's slipway.yml (serve -f); the projection needs only history.
 */
import { type CapacityRow, capacityCurve } from '../analyze/capacity-curve.js';
import { type GrowthReport, growthReport } from '../analyze/growth.js';
import { type Capacity, capacityFor } from '../config/capacity.js';
import type { Pipeline } from '../config/types.js';
import { TaskGraph } from '../graph/graph.js';
import { predict, simTasks } from '../plan/predict.js';
import { simulate } from '../plan/simulate.js';
import type { Store } from '../store/store.js';
import { runRecordsOf } from './history-lite.js';

const DAY = 86_400_000;
/** History the growth projection reads. */
const GROWTH_DAYS = 90;
const MAX_CPUS = 64;

export interface CapacityView {
  pipeline: string;
  generatedAt: number;
  costPerCpuHour: number | null;
  /** The concurrency the pipeline runs at today (the curve's marked point). */
  current: number | null;
  curve: (CapacityRow & { lowerBoundMs: number })[];
  curveNote: string | null;
  growth: GrowthReport;
}

/** 1, 2, 4 … up to the graph's width (at most 64), and today's concurrency. */
function capacities(current: number, tasks: number): number[] {
  const top = Math.max(1, Math.min(MAX_CPUS, tasks));
  const set = new Set<number>([Math.min(current, top), top]);
  for (let c = 1; c <= top; c *= 2) set.add(c);
  return [...set].sort((a, b) => a - b);
}

export async function capacityView(
  store: Store,
  o: { pipeline: string; config?: Pipeline; now: number; costPerCpuHour?: number },
): Promise<CapacityView> {
  const config = o.config?.name === o.pipeline ? o.config : undefined;
  const rows = await store.dashboard.runCpuTotals({ pipeline: o.pipeline, from: o.now - GROWTH_DAYS * DAY });
  const growth = growthReport(runRecordsOf(o.pipeline, rows), {
    now: o.now,
    ...(o.costPerCpuHour !== undefined ? { costPerCpuHour: o.costPerCpuHour } : {}),
  });
  const base = {
    pipeline: o.pipeline,
    generatedAt: o.now,
    costPerCpuHour: o.costPerCpuHour ?? null,
    growth,
  };
  if (!config)
    return {
      ...base,
      current: rows.at(-1)?.concurrency ?? null,
      curve: [],
      curveNote:
        'the what-if curve simulates the pipeline’s graph: start slipway serve beside its slipway.yml (-f)',
    };
  const graph = TaskGraph.fromPipeline(config);
  const predictions = await predict(store, config, graph);
  const capacity = capacityFor(config, rows.at(-1)?.concurrency);
  const points = capacities(capacity.slots, graph.size).map((n) => {
    const cap: Capacity = { slots: n, cpu: n, memory: capacity.memory };
    const r = simulate(simTasks(graph, predictions, cap), cap);
    return { cpus: n, makespanMs: r.makespanMs, lowerBoundMs: r.lowerBoundMs };
  });
  const curve = capacityCurve(points, o.costPerCpuHour).map((row) => ({
    ...row,
    lowerBoundMs: points.find((p) => p.cpus === row.cpus)!.lowerBoundMs,
  }));
  return {
    ...base,
    current: capacity.slots,
    curve,
    curveNote: curve.some((r) => r.knee) ? null : 'the curve has no knee: it is flat or too short to bend',
  };
}
