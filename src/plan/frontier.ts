/**
 * Which tasks may start: the bookkeeping the executor and the simulator share. A task is ready
 * once every dependency it has in the graph has succeeded; `pickTasks` (policy.ts) chooses among
 * the ready ones by the upward ranks computed here, once, from the same durations.
 */
import { upwardRanks } from '../graph/critical-path.js';
import type { TaskGraph } from '../graph/graph.js';
import type { Candidate } from './policy.js';

/** What the scheduler needs to know of a task: its predicted duration and demand. */
export type TaskDemand = Omit<Candidate, 'id' | 'rank'>;

export class Frontier {
  readonly #graph: TaskGraph;
  readonly #demand: (id: string) => TaskDemand;
  readonly #rank: Map<string, number>;
  /** Not started yet, with how many dependencies are still to succeed. */
  readonly #waiting = new Map<string, number>();
  readonly #ready = new Map<string, Candidate>();

  constructor(graph: TaskGraph, demand: (id: string) => TaskDemand) {
    this.#graph = graph;
    this.#demand = demand;
    this.#rank = upwardRanks(graph, (id) => demand(id).durationMs);
    for (const id of graph.ids) {
      const n = graph.deps(id).filter((d) => graph.has(d)).length;
      this.#waiting.set(id, n);
      if (n === 0) this.#makeReady(id);
    }
  }

  /** The ready tasks, as the scheduler's candidates (in no particular order). */
  candidates(): Candidate[] {
    return [...this.#ready.values()];
  }

  get hasReady(): boolean {
    return this.#ready.size > 0;
  }

  isReady(id: string): boolean {
    return this.#ready.has(id);
  }

  /** Takes a ready task off the frontier (it is starting) and returns its candidate. */
  start(id: string): Candidate {
    const c = this.#ready.get(id);
    if (!c) throw new Error(`frontier: ${id} is not ready`);
    this.#ready.delete(id);
    this.#waiting.delete(id);
    return c;
  }

  /** A started task succeeded: its dependents whose last dependency it was become ready. */
  succeeded(id: string): void {
    for (const m of this.#graph.dependents(id)) {
      const n = this.#waiting.get(m);
      if (n === undefined) continue;
      this.#waiting.set(m, n - 1);
      if (n === 1) this.#makeReady(m);
    }
  }

  /** A task did not succeed: every task that depends on it, directly or not, will never start. */
  drop(id: string): string[] {
    const dropped: string[] = [];
    const stack = [...this.#graph.dependents(id)];
    while (stack.length) {
      const m = stack.pop()!;
      if (!this.#waiting.delete(m)) continue; // started, finished, or dropped already
      this.#ready.delete(m);
      dropped.push(m);
      stack.push(...this.#graph.dependents(m));
    }
    return dropped;
  }

  #makeReady(id: string): void {
    const { durationMs, cpu, memory } = this.#demand(id);
    this.#ready.set(id, { id, rank: this.#rank.get(id)!, durationMs, cpu, memory });
  }
}
