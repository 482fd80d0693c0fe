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
