/** Re-simulation helpers: the lead's simulator with one change applied. */
import type { Capacity } from '../../config/capacity.js';
import { simTasks } from '../../plan/predict.js';
import { type SimTask, simulate } from '../../plan/simulate.js';
import type { RecommendContext } from './types.js';

/** The simulator's tasks under the current predictions (every task executes). */
export function baseTasks(ctx: RecommendContext, cap: Capacity = ctx.capacity): SimTask[] {
  return simTasks(ctx.graph, ctx.predictions, cap);
}

/** Makespan of the tasks, optionally changed, on a capacity. */
export function makespan(tasks: readonly SimTask[], cap: Capacity): number {
  return simulate(tasks, cap).makespanMs;
}

/** A copy of the tasks with one task's fields replaced. */
export function withTask(tasks: readonly SimTask[], id: string, patch: Partial<SimTask>): SimTask[] {
  return tasks.map((t) => (t.id === id ? { ...t, ...patch } : t));
}
