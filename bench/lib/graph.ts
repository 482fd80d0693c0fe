/** A benchmark graph: packages with a build duration and workspace dependencies. */

export interface BenchPackage {
  name: string;
  /** How long the package's build sleeps. */
  durationMs: number;
  /** Names of the packages whose build must finish first. */
  deps: string[];
}

export interface BenchGraph {
  /** Short name for tables, e.g. "chain". */
  shape: string;
  packages: BenchPackage[];
}

/** Longest path through the graph, each package weighted by duration(p); ties go to the first name. */
export function criticalPath(
  graph: BenchGraph,
  duration: (p: BenchPackage) => number,
): { lengthMs: number; path: string[] } {
  const byName = new Map(graph.packages.map((p) => [p.name, p]));
  const memo = new Map<string, { lengthMs: number; path: string[] }>();
  const longest = (p: BenchPackage): { lengthMs: number; path: string[] } => {
    const known = memo.get(p.name);
    if (known) return known;
    let best = { lengthMs: 0, path: [] as string[] };
    for (const d of [...p.deps].sort()) {
      const dep = byName.get(d);
      if (!dep) continue;
      const r = longest(dep);
      if (r.lengthMs > best.lengthMs) best = r;
    }
    const out = { lengthMs: best.lengthMs + duration(p), path: [...best.path, p.name] };
    memo.set(p.name, out);
    return out;
  };
  let top = { lengthMs: 0, path: [] as string[] };
  for (const p of graph.packages) {
    const r = longest(p);
    if (r.lengthMs > top.lengthMs) top = r;
  }
  return top;
}

/** Sum of all durations. */
export function totalWorkMs(graph: BenchGraph, duration: (p: BenchPackage) => number): number {
  return graph.packages.reduce((sum, p) => sum + duration(p), 0);
}
