/**
 * Before planning: which tasks are already done because their outputs are still exactly what
 * their current hash produced. They take no time, so predictions and the plan cover only the
 * rest, and the executor reports them first without scheduling them.
 */
import type { CacheLookup, TaskCache, TaskHash } from '../cache/types.js';
import type { Pipeline } from '../config/types.js';
import type { TaskGraph } from '../graph/graph.js';

/**
 * In-place hits in dependency order: a task qualifies when its outputs are in place and every
 * dependency it has in this graph qualified too (a dependency that runs may change its inputs'
 * story, so its dependents wait for the scheduler).
 */
export async function settleInPlace(
  cache: TaskCache,
  pipeline: Pipeline,
  graph: TaskGraph,
): Promise<Map<string, CacheLookup>> {
  const settled = new Map<string, CacheLookup>();
  for (const id of graph.topo()) {
    const task = pipeline.tasks.get(id)!;
    if (!task.cache) continue;
    const deps = new Map<string, TaskHash>();
    let ok = true;
    for (const d of graph.deps(id)) {
      const h = settled.get(d);
      if (h) deps.set(d, h.hash);
      else if (graph.has(d)) ok = false;
    }
    if (!ok) continue;
    const found = await cache.lookup(task, deps, { restore: true, inPlaceOnly: true });
    if (found.hit) settled.set(id, found);
  }
  return settled;
}

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
 * first the tasks settled in place (settleInPlace, as `run` does), then every other task in
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
  const settled = await settleInPlace(cache, pipeline, graph);
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
