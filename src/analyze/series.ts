/** Duration series for change-point detection, one per task and one for the run total. */
import { isCacheHit, type RunRecord } from './history.js';

/** Subject name of the whole-run series (parentheses cannot appear in task ids). */
export const RUN_SUBJECT = '(run)';

export interface SeriesPoint {
  runId: string;
  startedAt: number;
  value: number;
}

export interface Series {
  subject: string;
  points: SeriesPoint[];
}

/**
 * Per task: successful executions that really ran (cache hits restore in milliseconds and would
 * read as an improvement), oldest first.
 */
export function taskSeries(runs: readonly RunRecord[]): Series[] {
  const by = new Map<string, SeriesPoint[]>();
  for (const r of runs) {
    for (const t of r.tasks) {
      if (t.status !== 'success' || isCacheHit(t.cache) || t.durationMs === null) continue;
      const list = by.get(t.taskId) ?? [];
      list.push({ runId: r.id, startedAt: t.startedAt ?? r.startedAt, value: t.durationMs });
      by.set(t.taskId, list);
    }
  }
  return [...by].sort(([a], [b]) => a.localeCompare(b)).map(([subject, points]) => ({ subject, points }));
}

/** What makes two runs' totals comparable: the same tasks run at the same concurrency. */
function signature(r: RunRecord): string {
  return `${r.concurrency}|${r.tasks
    .map((t) => t.taskId)
    .sort()
    .join(',')}`;
}

/**
 * The run total: successful runs without cache hits, with the same task set and concurrency as
 * the newest such run (a `slipway run build` and a full run are different series).
 */
export function runSeries(runs: readonly RunRecord[]): Series {
  const full = runs.filter(
    (r) => r.status === 'success' && r.durationMs !== null && !r.tasks.some((t) => isCacheHit(t.cache)),
  );
  const last = full.at(-1);
  if (!last) return { subject: RUN_SUBJECT, points: [] };
  const sig = signature(last);
  return {
    subject: RUN_SUBJECT,
    points: full
      .filter((r) => signature(r) === sig)
      .map((r) => ({ runId: r.id, startedAt: r.startedAt, value: r.durationMs! })),
  };
}
