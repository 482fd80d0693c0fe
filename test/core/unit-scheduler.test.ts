/**
 * The scheduling policy (packing into slots/cpu/memory, EASY backfilling) and the simulator that
 * replays it; every expected schedule here was worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import type { Capacity } from '../../src/config/capacity.js';
import { type Candidate, pickTasks, type Running } from '../../src/plan/policy.js';
import { type SimTask, simulate } from '../../src/plan/simulate.js';

const GiB = 1024 ** 3;
const pool = (slots: number, cpu = slots, memory = 64 * GiB): Capacity => ({ slots, cpu, memory });
const cand = (id: string, rank: number, durationMs: number, cpu = 1, memory = 0): Candidate => ({
  id,
  rank,
  durationMs,
  cpu,
  memory,
});
const run = (id: string, expectedEndMs: number, cpu = 1, memory = 0): Running => ({
  id,
  expectedEndMs,
  cpu,
  memory,
});
const task = (id: string, durationMs: number, needs: string[] = [], cpu = 1, memory = 0): SimTask => ({
  id,
  durationMs,
  needs,
  cpu,
  memory,
});

describe('pickTasks: packing', () => {
  it('starts the highest-ranked ready tasks first, up to the concurrency cap', () => {
    const ready = [cand('low', 1, 10), cand('high', 9, 10), cand('mid', 5, 10)];
    expect(pickTasks(0, ready, [], pool(2))).toEqual(['high', 'mid']);
    expect(pickTasks(0, ready, [], pool(1))).toEqual(['high']);
  });

  it('counts running tasks against the pool', () => {
    const ready = [cand('a', 3, 10), cand('b', 2, 10)];
    expect(pickTasks(0, ready, [run('r', 50)], pool(2))).toEqual(['a']);
    expect(pickTasks(0, ready, [run('r', 50), run('s', 50)], pool(2))).toEqual([]);
  });

  it('packs by cpu: a 2-cpu task takes two cpu slots', () => {
    // Slots 4 but cpu 4: two 2-cpu tasks fill the cpu; the third waits.
    const ready = [cand('a', 3, 100, 2), cand('b', 2, 100, 2), cand('c', 1, 1000, 2)];
    const chosen = pickTasks(0, ready, [], pool(4, 4));
    expect(chosen).toEqual(['a', 'b']);
  });

  it('packs by memory as well as cpu', () => {
    const cap = pool(4, 4, 4 * GiB);
    const ready = [
      cand('big', 3, 100, 1, 3 * GiB),
      cand('big2', 2, 100, 1, 3 * GiB),
      cand('small', 1, 100, 1, GiB),
    ];
    // big2 does not fit next to big (6 GiB > 4 GiB); small (1 GiB) does, and ends before big2 could start.
    expect(pickTasks(0, ready, [], cap)).toEqual(['big', 'small']);
  });

  it('never starts a task whose demand exceeds the free pool', () => {
    const chosen = pickTasks(0, [cand('wide', 5, 10, 3)], [run('r', 100, 2)], pool(4, 4));
    expect(chosen).toEqual([]);
  });
});

describe('pickTasks: backfill only when it does not delay the top-ranked blocked task', () => {
  // Pool: 4 cpu. X (2 cpu) runs until t=100. The top-ranked ready task T needs all 4 cpu, so it
  // is blocked until 100. Two free cpus form a gap from 0 to 100.
  const cap = pool(4, 4);
  const running = [run('X', 100, 2)];
  const T = cand('T', 100, 300, 4);

  it('backfills a small task that ends inside the gap', () => {
    expect(pickTasks(0, [T, cand('short', 10, 50)], running, cap)).toEqual(['short']);
  });

  it('an exactly fitting short task (ends at the reservation) is also backfilled', () => {
    expect(pickTasks(0, [T, cand('exact', 10, 100)], running, cap)).toEqual(['exact']);
  });

  it('does not backfill a task that would still run when T is due (it would delay T)', () => {
    expect(pickTasks(0, [T, cand('long', 10, 250)], running, cap)).toEqual([]);
  });

  it('backfills a long task when T leaves room for it at its reserved start', () => {
    // T needs 3 cpu: at t=100 it gets 3 of 4, so a 1-cpu task may run past 100 without delaying it.
    const T3 = cand('T3', 100, 300, 3);
    expect(pickTasks(0, [T3, cand('long', 10, 250)], running, cap)).toEqual(['long']);
    // ...but only one such task: the second one would take T3's cpu at t=100.
    expect(pickTasks(0, [T3, cand('long1', 10, 250), cand('long2', 9, 250)], running, cap)).toEqual([
      'long1',
    ]);
  });

  it('picks the short one among several candidates, in rank order', () => {
    const ready = [T, cand('long', 50, 250), cand('short1', 20, 60), cand('short2', 10, 40)];
    expect(pickTasks(0, ready, running, cap)).toEqual(['short1', 'short2']);
  });

  it('uses `now` for the gap: late in the gap, a task that would once have fit no longer does', () => {
    expect(pickTasks(0, [T, cand('s', 10, 80)], running, cap)).toEqual(['s']);
    expect(pickTasks(40, [T, cand('s', 10, 80)], running, cap)).toEqual([]);
  });
});

describe('simulate: known schedules and makespans', () => {
  it('diamond a(100) -> b(500), c(200) -> d(100) on 2 slots: makespan 700, b and c overlap', () => {
    const r = simulate(
      [task('a', 100), task('b', 500, ['a']), task('c', 200, ['a']), task('d', 100, ['b', 'c'])],
      pool(2),
    );
    expect(r.makespanMs).toBe(700);
    expect(r.lowerBoundMs).toBe(700);
    expect(r.criticalPath).toEqual(['a', 'b', 'd']);
    const s = Object.fromEntries(r.schedule.map((x) => [x.id, [x.startMs, x.endMs]]));
    expect(s).toEqual({ a: [0, 100], b: [100, 600], c: [100, 300], d: [600, 700] });
  });

  it('the same diamond on 1 slot runs serially: makespan = total work 900', () => {
    const r = simulate(
      [task('a', 100), task('b', 500, ['a']), task('c', 200, ['a']), task('d', 100, ['b', 'c'])],
      pool(1),
    );
    expect(r.makespanMs).toBe(900);
    expect(r.lowerBoundMs).toBe(900);
  });

  it('a chain among short tasks: the chain head goes first, so the makespan is the optimum 400', () => {
    // c1 -> c2 -> c3 (100 each) and four independent 100 ms tasks on 2 slots: 7 units of work
    // on 2 slots needs 4 time units; starting the shorts first would take 5.
    const tasks = [
      task('c1', 100),
      task('c2', 100, ['c1']),
      task('c3', 100, ['c2']),
      task('s1', 100),
      task('s2', 100),
      task('s3', 100),
      task('s4', 100),
    ];
    const r = simulate(tasks, pool(2));
    expect(r.makespanMs).toBe(400);
    expect(r.lowerBoundMs).toBe(350);
    const start = Object.fromEntries(r.schedule.map((x) => [x.id, x.startMs]));
    expect([start.c1, start.c2, start.c3]).toEqual([0, 100, 200]);
  });

  it('backfills a short task into the gap before a wide task, and never delays the wide task', () => {
    // Pool 4 cpu. X (2 cpu, 100) then V (300); T (4 cpu, 100) then U (250); L (150) and S (50), 1 cpu.
    // Ranks: X 400 > T 350 > L 150 > S 50. At 0: X starts; T waits for all 4 cpu (t=100);
    // S ends by then, so it backfills; L would not, so it waits. T runs 100-200; then V, U, L together.
    const r = simulate(
      [
        task('X', 100, [], 2),
        task('V', 300, ['X']),
        task('T', 100, [], 4),
        task('U', 250, ['T']),
        task('L', 150),
        task('S', 50),
      ],
      pool(4, 4),
    );
    const s = Object.fromEntries(r.schedule.map((x) => [x.id, [x.startMs, x.endMs]]));
    expect(s).toEqual({
      X: [0, 100],
      S: [0, 50],
      T: [100, 200],
      V: [200, 500],
      U: [200, 450],
      L: [200, 350],
    });
    expect(r.makespanMs).toBe(500);
    expect(r.lowerBoundMs).toBe(400);
  });

  it('lower bound uses work / capacity when the graph is wide', () => {
    const r = simulate([task('a', 300), task('b', 300), task('c', 300), task('d', 300)], pool(2));
    expect(r.lowerBoundMs).toBe(600);
    expect(r.makespanMs).toBe(600);
  });

  it('lower bound counts cpu-weighted work', () => {
    // Two 2-cpu tasks of 100 on 4 slots but 2 cpu: they cannot overlap.
    const r = simulate([task('a', 100, [], 2), task('b', 100, [], 2)], pool(4, 2));
    expect(r.lowerBoundMs).toBe(200);
    expect(r.makespanMs).toBe(200);
  });

  it('a task wider than the pool still runs (clamped), alone', () => {
    const r = simulate([task('huge', 100, [], 8), task('small', 100)], pool(2, 2));
    expect(r.schedule).toHaveLength(2);
    expect(r.makespanMs).toBe(200);
  });

  it('empty pipeline: makespan 0', () => {
    expect(simulate([], pool(2)).makespanMs).toBe(0);
  });

  it('property: random graphs give valid schedules (deps respected, pool never exceeded, makespan >= lower bound)', () => {
    let seed = 2024;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let trial = 0; trial < 150; trial++) {
      const n = 1 + Math.floor(rand() * 20);
      const tasks: SimTask[] = [];
      for (let i = 0; i < n; i++) {
        const needs = tasks.filter(() => rand() < 0.2).map((t) => t.id);
        tasks.push(task(`t${i}`, 1 + Math.floor(rand() * 500), needs, 1 + Math.floor(rand() * 3), 0));
      }
      const cap = pool(1 + Math.floor(rand() * 4), 3 + Math.floor(rand() * 3));
      const r = simulate(tasks, cap);
      const at = new Map(r.schedule.map((x) => [x.id, x]));
      expect(at.size).toBe(n);
      expect(r.schedule).toHaveLength(n);
      for (const t of tasks) {
        const s = at.get(t.id)!;
        expect(s.endMs - s.startMs).toBe(t.durationMs);
        for (const d of t.needs) expect(s.startMs).toBeGreaterThanOrEqual(at.get(d)!.endMs);
      }
      // At every start instant, the running set fits the pool.
      for (const x of r.schedule) {
        const live = r.schedule.filter((y) => y.startMs <= x.startMs && y.endMs > x.startMs);
        expect(live.length).toBeLessThanOrEqual(cap.slots);
        const cpu = live.reduce(
          (sum, y) => sum + Math.min(tasks.find((t) => t.id === y.id)!.cpu, cap.cpu),
          0,
        );
        expect(cpu).toBeLessThanOrEqual(cap.cpu);
      }
      expect(r.makespanMs).toBe(Math.max(0, ...r.schedule.map((x) => x.endMs)));
      expect(r.makespanMs).toBeGreaterThanOrEqual(r.lowerBoundMs - 1e-6);
    }
  });
});
