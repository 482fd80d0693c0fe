/** Discrete-event simulation of a schedule under the same frontier and policy the executor uses. */

import type { Capacity } from '../config/capacity.js';
import { criticalPath } from '../graph/critical-path.js';
import { TaskGraph } from '../graph/graph.js';
import { Frontier } from './frontier.js';
import { pickTasks, type Running } from './policy.js';

export interface SimTask {
  id: string;
  durationMs: number;
  cpu: number;
  memory: number;
  needs: string[];
}

export interface SimResult {
  makespanMs: number;
  lowerBoundMs: number;
  criticalPath: string[];
  schedule: { id: string; startMs: number; endMs: number }[];
}

/** Lower bound on any schedule: max(critical path, work / capacity in each dimension). */
export function lowerBound(tasks: readonly SimTask[], cap: Capacity, criticalPathMs: number): number {
  let slotWork = 0;
  let cpuWork = 0;
  let memWork = 0;
  for (const t of tasks) {
    slotWork += t.durationMs;
    cpuWork += t.durationMs * t.cpu;
    memWork += t.durationMs * t.memory;
  }
  return Math.max(
    criticalPathMs,
    slotWork / cap.slots,
    cpuWork / cap.cpu,
    cap.memory > 0 ? memWork / cap.memory : 0,
  );
}

/** Simulates the schedule; tasks whose demand can never fit are run alone (clamped to the pool). */
export function simulate(tasks: readonly SimTask[], cap: Capacity): SimResult {
  const byId = new Map(tasks.map((t) => [t.id, clamp(t, cap)]));
  const graph = TaskGraph.fromEdges(
    Object.fromEntries(tasks.map((t) => [t.id, t.needs.filter((d) => byId.has(d))])),
  );
  const cp = criticalPath(graph, (id) => byId.get(id)!.durationMs);
  const frontier = new Frontier(graph, (id) => byId.get(id)!);

  const running: Running[] = [];
  const schedule: SimResult['schedule'] = [];
  let now = 0;
  while (frontier.hasReady || running.length) {
    for (const id of pickTasks(now, frontier.candidates(), running, cap)) {
      const t = frontier.start(id);
      running.push({ id, cpu: t.cpu, memory: t.memory, expectedEndMs: now + t.durationMs });
      schedule.push({ id, startMs: now, endMs: now + t.durationMs });
    }
    if (!running.length) break; // nothing fits (cannot happen after clamping)
    now = Math.min(...running.map((r) => r.expectedEndMs));
    for (let i = running.length - 1; i >= 0; i--) {
      const r = running[i]!;
      if (r.expectedEndMs > now) continue;
      running.splice(i, 1);
      frontier.succeeded(r.id);
    }
  }
  return {
    makespanMs: schedule.reduce((m, s) => Math.max(m, s.endMs), 0),
    lowerBoundMs: lowerBound([...byId.values()], cap, cp.lengthMs),
    criticalPath: cp.path,
    schedule,
  };
}

function clamp(t: SimTask, cap: Capacity): SimTask {
  return { ...t, cpu: Math.min(t.cpu, cap.cpu), memory: Math.min(t.memory, cap.memory) };
}
