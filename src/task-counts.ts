/**
 * Finished tasks counted by status and cache outcome: the one tally behind the end-of-run line,
 * the run summary's cache block and the per-run counters in history.
 */
import type { CacheOutcome, TaskStatus } from './events.js';

export type TaskCounts = Record<TaskStatus, number> & {
  hitsLocal: number;
  hitsRemote: number;
  misses: number;
};

/** What a finished task contributes: its status and where its result came from. */
interface Finished {
  status: TaskStatus;
  cache: CacheOutcome;
}

export const NO_TASKS: Readonly<TaskCounts> = {
  success: 0,
  failed: 0,
  skipped: 0,
  cancelled: 0,
  hitsLocal: 0,
  hitsRemote: 0,
  misses: 0,
};

/** `c` with one more finished task. */
export function addTask(c: Readonly<TaskCounts>, t: Finished): TaskCounts {
  const n = { ...c, [t.status]: c[t.status] + 1 };
  if (t.cache === 'hit-local') n.hitsLocal++;
  else if (t.cache === 'hit-remote') n.hitsRemote++;
  else if (t.cache === 'miss') n.misses++;
  return n;
}

/** The counts of a set of finished tasks. */
export function countTasks(tasks: Iterable<Finished>): TaskCounts {
  let c: TaskCounts = { ...NO_TASKS };
  for (const t of tasks) c = addTask(c, t);
  return c;
}
