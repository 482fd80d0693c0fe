/** The task graph: dependencies, dependents, topological order and target selection. */
import type { Pipeline } from '../config/types.js';

export class TaskGraph {
  readonly #deps: Map<string, string[]>;
  readonly #dependents = new Map<string, string[]>();

  private constructor(deps: Map<string, string[]>) {
    this.#deps = deps;
    for (const id of deps.keys()) this.#dependents.set(id, []);
    for (const [id, ds] of deps) for (const d of ds) this.#dependents.get(d)?.push(id);
  }

  /** Graph of every task in a validated pipeline (no cycles, no unknown dependencies). */
  static fromPipeline(p: Pick<Pipeline, 'tasks'>): TaskGraph {
    return new TaskGraph(new Map([...p.tasks.values()].map((t) => [t.id, [...t.needs]])));
  }

  /** Graph from explicit edges (id -> dependencies), for tests and simulations. */
  static fromEdges(edges: Record<string, readonly string[]>): TaskGraph {
    return new TaskGraph(new Map(Object.entries(edges).map(([k, v]) => [k, [...v]])));
  }

  get ids(): string[] {
    return [...this.#deps.keys()];
  }

  get size(): number {
    return this.#deps.size;
  }

  has(id: string): boolean {
    return this.#deps.has(id);
  }

  deps(id: string): readonly string[] {
    return this.#deps.get(id) ?? [];
  }

  dependents(id: string): readonly string[] {
    return this.#dependents.get(id) ?? [];
  }

  #topo: readonly string[] | undefined;

  /** Dependencies before dependents; ties broken by id for a stable order. */
  topo(): string[] {
    this.#topo ??= this.#order();
    return [...this.#topo];
  }

  #order(): string[] {
    const indeg = new Map<string, number>();
    for (const [id, ds] of this.#deps) indeg.set(id, ds.filter((d) => this.#deps.has(d)).length);
    const ready = [...indeg]
      .filter(([, n]) => n === 0)
      .map(([id]) => id)
      .sort();
    const out: string[] = [];
    for (let i = 0; i < ready.length; i++) {
      const id = ready[i]!;
      out.push(id);
      for (const m of this.dependents(id)) {
        const n = indeg.get(m)! - 1;
        indeg.set(m, n);
        if (n === 0) ready.push(m);
      }
    }
    return out;
  }

  /** The targets and everything they transitively need. */
  select(targets: readonly string[]): TaskGraph {
    const keep = new Set<string>();
    const stack = [...targets];
    while (stack.length) {
      const id = stack.pop()!;
      if (keep.has(id) || !this.#deps.has(id)) continue;
      keep.add(id);
      stack.push(...this.deps(id));
    }
    return new TaskGraph(new Map([...this.#deps].filter(([id]) => keep.has(id))));
  }

  /** Removes tasks treated as already done (for --resume); their dependents no longer wait. */
  without(done: ReadonlySet<string>): TaskGraph {
    return new TaskGraph(
      new Map(
        [...this.#deps]
          .filter(([id]) => !done.has(id))
          .map(([id, ds]) => [id, ds.filter((d) => !done.has(d))]),
      ),
    );
  }
}
