/** `budgets:` from the pipeline file against the newest finished run. */
import { ConfigError, didYouMean } from '../config/diagnostic.js';
import type { Pipeline } from '../config/types.js';
import { isCacheHit, type RunRecord, type TaskRecord } from './history.js';

export interface BudgetResult {
  /** `run` or the task id. */
  subject: string;
  budgetMs: number;
  /** Measured wall time; null when nothing was measured (see `basis`). */
  actualMs: number | null;
  breached: boolean;
  /** actual − budget (positive when over). */
  overMs: number | null;
  /**
   * What was judged: the newest run's own measurement, the last run that really executed the task
   * (a cache hit restores in milliseconds and says nothing about the task), or nothing.
   */
  basis: 'latest-run' | 'last-execution' | 'not-measured';
  /** The run whose measurement was judged. */
  measuredRunId: string | null;
  note?: string;
}

/** Budgets of tasks the pipeline does not have are configuration errors (exit 2), located in the file. */
export function validateBudgets(pipeline: Pipeline): void {
  const tasks = pipeline.raw.budgets?.tasks ?? {};
  const ids = [...pipeline.tasks.keys()];
  const diagnostics = Object.keys(tasks)
    .filter((id) => !pipeline.tasks.has(id))
    .map((id) => {
      const guess = didYouMean(id, ids);
      return {
        location: pipeline.locate(['budgets', 'tasks', id], 'key'),
        message: `budget for unknown task "${id}"`,
        hint: guess ? `did you mean "${guess}"?` : `tasks: ${ids.join(', ')}`,
      };
    });
  if (diagnostics.length) throw new ConfigError(diagnostics, pipeline.source);
}

function judged(
  subject: string,
  budgetMs: number,
  actualMs: number | null,
  basis: BudgetResult['basis'],
  measuredRunId: string | null,
  note?: string,
): BudgetResult {
  return {
    subject,
    budgetMs,
    actualMs,
    breached: actualMs !== null && actualMs > budgetMs,
    overMs: actualMs === null ? null : actualMs - budgetMs,
    basis,
    measuredRunId,
    ...(note ? { note } : {}),
  };
}

/** The task really ran (and succeeded) in this run: its duration measures it. */
function executed(t: TaskRecord | undefined): t is TaskRecord & { durationMs: number } {
  return t !== undefined && t.status === 'success' && !isCacheHit(t.cache) && t.durationMs !== null;
}

/**
 * Budgets checked against the newest finished run `latest` of `runs` (oldest first). A task the
 * run restored from the cache is judged on its last real execution, and the result says so; a
 * run with cache hits that stayed within its budget is judged on the last run that executed
 * everything. Without such a run the budget is "not measured".
 */
export function checkBudgets(
  pipeline: Pipeline,
  runs: readonly RunRecord[],
  latest: RunRecord,
): BudgetResult[] {
  const budgets = pipeline.raw.budgets;
  if (!budgets) return [];
  const upTo = runs.slice(0, runs.indexOf(latest) + 1 || runs.length);
  const out: BudgetResult[] = [];
  if (budgets.run !== undefined) {
    const cached = latest.tasks.filter((t) => isCacheHit(t.cache)).length;
    const actual = latest.durationMs;
    if (!cached || actual === null || actual > budgets.run) {
      const note = cached ? `${cached} of ${latest.tasks.length} tasks cached in this run` : undefined;
      out.push(judged('run', budgets.run, actual, 'latest-run', latest.id, note));
    } else {
      const full = upTo.findLast(
        (r) => r.status === 'success' && r.durationMs !== null && !r.tasks.some((t) => isCacheHit(t.cache)),
      );
      out.push(
        full
          ? judged(
              'run',
              budgets.run,
              full.durationMs,
              'last-execution',
              full.id,
              `${cached} of ${latest.tasks.length} tasks cached in this run; judged on run ${full.id}, the last that executed every task`,
            )
          : judged(
              'run',
              budgets.run,
              null,
              'not-measured',
              null,
              `not measured in this run: ${cached} of ${latest.tasks.length} tasks cached, and no recorded run executed every task`,
            ),
      );
    }
  }
  for (const [id, budgetMs] of Object.entries(budgets.tasks).sort(([a], [b]) => a.localeCompare(b))) {
    const t = latest.tasks.find((x) => x.taskId === id);
    if (executed(t)) {
      out.push(judged(id, budgetMs, t.durationMs, 'latest-run', latest.id));
      continue;
    }
    if (!t || !isCacheHit(t.cache)) {
      out.push(
        judged(id, budgetMs, null, 'not-measured', null, t ? `task ${t.status}` : 'not part of this run'),
      );
      continue;
    }
    let last: { run: RunRecord; task: TaskRecord & { durationMs: number } } | undefined;
    for (let i = upTo.length - 1; i >= 0 && !last; i--) {
      const x = upTo[i]!.tasks.find((y) => y.taskId === id);
      if (executed(x)) last = { run: upTo[i]!, task: x };
    }
    out.push(
      last
        ? judged(
            id,
            budgetMs,
            last.task.durationMs,
            'last-execution',
            last.run.id,
            `cached in this run; last executed in run ${last.run.id}`,
          )
        : judged(
            id,
            budgetMs,
            null,
            'not-measured',
            null,
            'not measured in this run: cached, and no recorded run executed it',
          ),
    );
  }
  return out;
}
