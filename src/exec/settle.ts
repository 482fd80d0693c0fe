/**
 * What a run would do with each task, for `slipway plan`: the cache settled as `run` settles it
 * (TaskCache.settle: tasks already done take no time, so predictions and the plan cover only the
 * rest), then every other task looked up as the executor would.
 */
import type { TaskCache, TaskHash } from '../cache/types.js';
import type { Pipeline } from '../config/types.js';
import type { TaskGraph } from '../graph/graph.js';

/** What a run would do with a task (as `turbo run --dry` says): `hit`, `miss` (runs) or `run` (cache off). */
export type CacheMark = 'hit' | 'miss' | 'run';

export interface MarkedTask {
  mark: CacheMark;
  /** For a hit: `in-place` (settled, nothing to do) or `local` (restored from the local cache). */
  via?: 'in-place' | 'local';
  /** Absent when the cache is off for the whole run (`--no-cache`: nothing is hashed). */
  hash?: TaskHash;
  /** For a hit: what the run that made its entry took. */
  savedMs?: number;
}

/**
 * What a run would do with each task, found the way a run finds it but without running,
 * restoring or writing anything (`cache` must be read-only: createTaskCache({ readOnly: true })):
 * first the tasks settled in place (cache.settle, as `run` does), then every other task in
 * dependency order, looked up with its dependencies' hashes as the executor would. No `cache`
 * (`--no-cache`) marks every task `run`.
 */
export async function cacheMarks(
  cache: TaskCache | undefined,
  pipeline: Pipeline,
  graph: TaskGraph,
): Promise<Map<string, MarkedTask>> {
  const marks = new Map<string, MarkedTask>();
  if (!cache) {
    for (const id of graph.topo()) marks.set(id, { mark: 'run' });
    return marks;
  }
  const settled = await cache.settle(graph);
  const hashes = new Map<string, TaskHash>();
  for (const id of graph.topo()) {
    const task = pipeline.tasks.get(id)!;
    let found = settled.get(id);
    const via = found ? 'in-place' : 'local';
    if (!found) {
      const deps = new Map<string, TaskHash>();
      for (const d of graph.deps(id)) {
        const h = hashes.get(d);
        if (h) deps.set(d, h);
      }
      found = await cache.lookup(task, deps, { restore: task.cache });
    }
    const { hash, hit } = found;
    hashes.set(id, hash);
    if (!task.cache) marks.set(id, { mark: 'run', hash });
    else if (hit) marks.set(id, { mark: 'hit', via, hash, savedMs: hit.savedMs });
    else marks.set(id, { mark: 'miss', hash });
  }
  return marks;
}
