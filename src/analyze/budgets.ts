/** `budgets:` from the pipeline file against the newest finished run. */
import { ConfigError, didYouMean } from '../config/diagnostic.js';
import type { Pipeline } from '../config/types.js';
import type { RunRecord } from './history.js';

export interface BudgetResult {
  /** `run` or the task id. */
  subject: string;
  budgetMs: number;
  /** Measured wall time; null when the run did not execute the task. */
  actualMs: number | null;
  breached: boolean;
  /** actual − budget (positive when over). */
  overMs: number | null;
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

/** Budgets checked against one run (the newest finished one). */
export function checkBudgets(pipeline: Pipeline, run: RunRecord): BudgetResult[] {
  const budgets = pipeline.raw.budgets;
  if (!budgets) return [];
  const out: BudgetResult[] = [];
  if (budgets.run !== undefined) {
    const actual = run.durationMs;
    out.push({
      subject: 'run',
      budgetMs: budgets.run,
      actualMs: actual,
      breached: actual !== null && actual > budgets.run,
      overMs: actual === null ? null : actual - budgets.run,
    });
  }
  for (const [id, budgetMs] of Object.entries(budgets.tasks).sort(([a], [b]) => a.localeCompare(b))) {
    const t = run.tasks.find((x) => x.taskId === id);
    const actual = t && t.status === 'success' ? t.durationMs : null;
    const r: BudgetResult = {
      subject: id,
      budgetMs,
      actualMs: actual,
      breached: actual !== null && actual > budgetMs,
      overMs: actual === null ? null : actual - budgetMs,
    };
    if (actual === null) r.note = t ? `task ${t.status}` : 'not part of this run';
    out.push(r);
  }
  return out;
}
