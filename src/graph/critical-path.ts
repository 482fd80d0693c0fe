/** Longest path through the graph by duration, and each task's upward rank. */
import type { TaskGraph } from './graph.js';

/**
 * Upward rank: a task's duration plus the longest duration-weighted path from it to any sink.
 * Scheduling the highest rank first keeps the critical path busy (HEFT-style list scheduling).
 */
export function upwardRanks(graph: TaskGraph, durationOf: (id: string) => number): Map<string, number> {
  const rank = new Map<string, number>();
  const order = graph.topo();
  for (let i = order.length - 1; i >= 0; i--) {
    const id = order[i]!;
    let tail = 0;
    for (const m of graph.dependents(id)) tail = Math.max(tail, rank.get(m) ?? 0);
    rank.set(id, durationOf(id) + tail);
  }
  return rank;
}

/** The chain of tasks whose durations sum to the longest path, and that length. */
export function criticalPath(
  graph: TaskGraph,
  durationOf: (id: string) => number,
): { path: string[]; lengthMs: number } {
  const rank = upwardRanks(graph, durationOf);
  const best = (ids: readonly string[]) =>
    ids.reduce<string | undefined>(
      (a, b) => (a === undefined || rank.get(b)! > rank.get(a)! ? b : a),
      undefined,
    );
  const roots = graph.ids.filter((id) => graph.deps(id).every((d) => !graph.has(d))).sort();
  const path: string[] = [];
  let cur = best(roots);
  while (cur !== undefined) {
    path.push(cur);
    cur = best([...graph.dependents(cur)].sort());
  }
  return { path, lengthMs: path.length ? rank.get(path[0]!)! : 0 };
}
