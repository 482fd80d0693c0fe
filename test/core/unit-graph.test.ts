/** TaskGraph, critical path and upward rank on small graphs whose answers are known by hand. */
import { describe, expect, it } from 'vitest';
import { criticalPath, upwardRanks } from '../../src/graph/critical-path.js';
import { TaskGraph } from '../../src/graph/graph.js';

// Edges are id -> dependencies (what the task needs), as in slipway.yml.
const diamond = () => TaskGraph.fromEdges({ a: [], b: ['a'], c: ['a'], d: ['b', 'c'] });
const durations =
  (d: Record<string, number>) =>
  (id: string): number => {
    const v = d[id];
    if (v === undefined) throw new Error(`no duration for ${id}`);
    return v;
  };

describe('TaskGraph', () => {
  it('knows dependencies and dependents', () => {
    const g = diamond();
    expect(g.ids.sort()).toEqual(['a', 'b', 'c', 'd']);
    expect([...g.deps('d')].sort()).toEqual(['b', 'c']);
    expect([...g.dependents('a')].sort()).toEqual(['b', 'c']);
    expect(g.dependents('d')).toEqual([]);
    expect(g.deps('a')).toEqual([]);
  });

  it('topo() puts every dependency before its dependents and lists each task once', () => {
    const g = TaskGraph.fromEdges({ e: ['d'], d: ['b', 'c'], c: ['a'], b: ['a'], a: [], x: [] });
    const order = g.topo();
    expect([...order].sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'x']);
    const pos = new Map(order.map((id, i) => [id, i]));
    for (const id of g.ids) for (const d of g.deps(id)) expect(pos.get(d)!).toBeLessThan(pos.get(id)!);
  });

  it('select() keeps the targets and their transitive dependencies only', () => {
    const g = TaskGraph.fromEdges({ a: [], b: ['a'], c: ['a'], d: ['b', 'c'], other: [], leaf: ['other'] });
    expect(g.select(['b']).ids.sort()).toEqual(['a', 'b']);
    expect(g.select(['d']).ids.sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(g.select(['a']).ids).toEqual(['a']);
    expect(g.select(['b', 'leaf']).ids.sort()).toEqual(['a', 'b', 'leaf', 'other']);
    // Dependents of a selected task are not pulled in.
    expect(g.select(['a']).dependents('a')).toEqual([]);
  });
});

describe('upwardRanks', () => {
  it('is the task duration plus the longest path to a sink', () => {
    const r = upwardRanks(diamond(), durations({ a: 1, b: 5, c: 2, d: 1 }));
    expect(Object.fromEntries(r)).toEqual({ a: 7, b: 6, c: 3, d: 1 });
  });

  it('ranks a long chain head above short independent tasks', () => {
    const g = TaskGraph.fromEdges({ c1: [], c2: ['c1'], c3: ['c2'], s1: [], s2: [] });
    const r = upwardRanks(g, durations({ c1: 100, c2: 100, c3: 100, s1: 150, s2: 50 }));
    expect(r.get('c1')).toBe(300);
    expect(r.get('c2')).toBe(200);
    expect(r.get('s1')).toBe(150);
    expect(r.get('c1')!).toBeGreaterThan(r.get('s1')!);
  });

  it('property: rank(t) >= duration(t) + rank(dependent) for every edge, with equality for the max', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let trial = 0; trial < 100; trial++) {
      const n = 1 + Math.floor(rand() * 12);
      const ids = Array.from({ length: n }, (_, i) => `t${i}`);
      const edges: Record<string, string[]> = {};
      const dur: Record<string, number> = {};
      for (let i = 0; i < n; i++) {
        edges[ids[i]!] = ids.slice(0, i).filter(() => rand() < 0.35);
        dur[ids[i]!] = 1 + Math.floor(rand() * 100);
      }
      const g = TaskGraph.fromEdges(edges);
      const r = upwardRanks(g, durations(dur));
      for (const id of ids) {
        const tails = g.dependents(id).map((m) => r.get(m)!);
        expect(r.get(id)).toBe(dur[id]! + Math.max(0, ...tails));
      }
    }
  });
});

describe('criticalPath', () => {
  it('finds the heaviest chain of the diamond', () => {
    expect(criticalPath(diamond(), durations({ a: 1, b: 5, c: 2, d: 1 }))).toEqual({
      path: ['a', 'b', 'd'],
      lengthMs: 7,
    });
    expect(criticalPath(diamond(), durations({ a: 1, b: 2, c: 5, d: 1 }))).toEqual({
      path: ['a', 'c', 'd'],
      lengthMs: 7,
    });
  });

  it('picks the heaviest of several disconnected components', () => {
    const g = TaskGraph.fromEdges({ x: [], y: ['x'], big: [] });
    expect(criticalPath(g, durations({ x: 3, y: 3, big: 5 }))).toEqual({ path: ['x', 'y'], lengthMs: 6 });
    expect(criticalPath(g, durations({ x: 1, y: 1, big: 5 }))).toEqual({ path: ['big'], lengthMs: 5 });
  });

  it('is heavier-than-longer: weights, not hop counts', () => {
    const g = TaskGraph.fromEdges({ a: [], b: ['a'], c: ['b'], d: ['c'], slow: [], end: ['d', 'slow'] });
    const cp = criticalPath(g, durations({ a: 1, b: 1, c: 1, d: 1, slow: 10, end: 1 }));
    expect(cp).toEqual({ path: ['slow', 'end'], lengthMs: 11 });
  });

  it('empty graph: empty path of length 0', () => {
    expect(criticalPath(TaskGraph.fromEdges({}), () => 1)).toEqual({ path: [], lengthMs: 0 });
  });

  it('the path is a chain of real edges and its length is the sum of its durations', () => {
    const g = TaskGraph.fromEdges({ a: [], b: ['a'], c: ['a'], d: ['b'], e: ['c', 'd'], f: ['c'] });
    const dur = durations({ a: 2, b: 3, c: 4, d: 5, e: 1, f: 9 });
    const cp = criticalPath(g, dur);
    for (let i = 0; i + 1 < cp.path.length; i++) expect(g.deps(cp.path[i + 1]!)).toContain(cp.path[i]);
    expect(cp.lengthMs).toBe(cp.path.reduce((s, id) => s + dur(id), 0));
    // a -> c -> f = 15 beats a -> b -> d -> e = 11.
    expect(cp).toEqual({ path: ['a', 'c', 'f'], lengthMs: 15 });
  });
});
