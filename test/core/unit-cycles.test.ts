/** findCycle: returns the whole cycle (first node repeated at the end) or undefined for a DAG. */
import { describe, expect, it } from 'vitest';
import { findCycle } from '../../src/util/find-cycle.js';

function graph(edges: Record<string, string[]>): [string[], (n: string) => readonly string[]] {
  return [Object.keys(edges), (n) => edges[n] ?? []];
}

/** A cycle is valid if it closes on itself and each step is an edge. */
function expectValidCycle(cycle: string[] | undefined, edges: Record<string, string[]>): void {
  expect(cycle).toBeDefined();
  const c = cycle!;
  expect(c.length).toBeGreaterThanOrEqual(2);
  expect(c[0]).toBe(c[c.length - 1]);
  for (let i = 0; i + 1 < c.length; i++) expect(edges[c[i]!]).toContain(c[i + 1]);
  // Simple cycle: no node repeated except the closing one.
  expect(new Set(c.slice(0, -1)).size).toBe(c.length - 1);
}

describe('findCycle', () => {
  it('returns undefined for the empty graph and a single node', () => {
    expect(findCycle([], () => [])).toBeUndefined();
    expect(findCycle(...graph({ a: [] }))).toBeUndefined();
  });

  it('returns undefined for a diamond (shared descendants are not cycles)', () => {
    expect(findCycle(...graph({ a: ['b', 'c'], b: ['d'], c: ['d'], d: [] }))).toBeUndefined();
  });

  it('finds a self-loop as [a, a]', () => {
    expect(findCycle(...graph({ a: ['a'] }))).toEqual(['a', 'a']);
  });

  it('finds a three-cycle with its whole path', () => {
    expect(findCycle(...graph({ a: ['b'], b: ['c'], c: ['a'] }))).toEqual(['a', 'b', 'c', 'a']);
  });

  it('is deterministic: starts from the smallest id whatever the insertion order', () => {
    const edges = { c: ['a'], b: ['c'], a: ['b'] };
    expect(findCycle(...graph(edges))).toEqual(['a', 'b', 'c', 'a']);
  });

  it('reports only the cycle, not the path that led into it', () => {
    const edges = { a: ['b'], b: ['c'], c: ['d'], d: ['b'] };
    expect(findCycle(...graph(edges))).toEqual(['b', 'c', 'd', 'b']);
  });

  it('ignores edges to unknown nodes (reported elsewhere as unknown dependencies)', () => {
    expect(findCycle(['a'], () => ['ghost'])).toBeUndefined();
    expect(findCycle(...graph({ a: ['ghost', 'b'], b: ['a'] }))).toEqual(['a', 'b', 'a']);
  });

  it('finds a cycle in a component visited late', () => {
    const edges = { a: ['b'], b: [], x: ['y'], y: ['z'], z: ['x'] };
    expectValidCycle(findCycle(...graph(edges)), edges);
  });

  it('handles a 100 000-node chain without overflowing the stack', () => {
    const n = 100_000;
    const ids = Array.from({ length: n }, (_, i) => `t${String(i).padStart(6, '0')}`);
    const next = new Map(ids.map((id, i) => [id, i + 1 < n ? [ids[i + 1]!] : []]));
    expect(findCycle(ids, (id) => next.get(id) ?? [])).toBeUndefined();
    next.set(ids[n - 1]!, [ids[0]!]);
    const c = findCycle(ids, (id) => next.get(id) ?? []);
    expect(c?.length).toBe(n + 1);
    expect(c?.[0]).toBe(ids[0]);
  });

  it('property: random DAGs (edges only to later nodes) have no cycle; adding a back edge makes one', () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let trial = 0; trial < 200; trial++) {
      const n = 2 + Math.floor(rand() * 15);
      const ids = Array.from({ length: n }, (_, i) => `n${i}`);
      const edges: Record<string, string[]> = {};
      for (let i = 0; i < n; i++) {
        edges[ids[i]!] = ids.slice(i + 1).filter(() => rand() < 0.3);
      }
      expect(findCycle(...graph(edges))).toBeUndefined();
      // Close a path: make sure i -> j exists, then add j -> i.
      const i = Math.floor(rand() * (n - 1));
      const j = i + 1 + Math.floor(rand() * (n - i - 1));
      if (!edges[ids[i]!]!.includes(ids[j]!)) edges[ids[i]!]!.push(ids[j]!);
      edges[ids[j]!]!.push(ids[i]!);
      expectValidCycle(findCycle(...graph(edges)), edges);
    }
  });
});
