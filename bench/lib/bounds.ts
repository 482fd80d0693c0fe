/** The lower bound of one measured run, from the durations its tasks really had. */
import { type BenchGraph, type BenchPackage, criticalPath, totalWorkMs } from './graph.js';
import type { RunResult } from './runners.js';

export interface Bound {
  /** max(critical path, total work / slots). */
  boundMs: number;
  criticalPathMs: number;
  perSlotMs: number;
  path: string[];
  bindsBy: 'critical path' | 'work/N';
}

/**
 * Work = each task's measured duration (its sleep plus what starting `npm run build` cost in that
 * run, on this machine, under its load), so the bound is what no schedule of those very tasks
 * could beat. A task missing from the run's record counts at its nominal duration.
 */
export function measuredBound(graph: BenchGraph, run: RunResult, slots: number): Bound {
  const measured = new Map(run.tasks.map((t) => [t.id, t.endMs - t.startMs]));
  const work = (p: BenchPackage) => measured.get(p.name) ?? p.durationMs;
  const cp = criticalPath(graph, work);
  const perSlotMs = totalWorkMs(graph, work) / slots;
  return {
    boundMs: Math.max(cp.lengthMs, perSlotMs),
    criticalPathMs: cp.lengthMs,
    perSlotMs,
    path: cp.path,
    bindsBy: cp.lengthMs >= perSlotMs ? 'critical path' : 'work/N',
  };
}
