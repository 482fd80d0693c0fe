/**
 * `plan --what-if workers=…`: the run simulated on N scale-out workers of one slot each. The same
 * policy and simulator as a local run (simulate.ts), with each task longer by the dispatch
 * overhead a job pays (queue, worker pick-up, cache restore and save), as measured by
 * `npm run bench -- --only scale-out` (README: Scaling out).
 */
import type { Capacity } from '../config/capacity.js';
import { type SimResult, type SimTask, simulate } from './simulate.js';

/** Median dispatch overhead per task measured by the scale-out bench (ms). */
export const DISPATCH_MS = 50;

/** The schedule on `workers` one-slot workers, each task paying the dispatch overhead once. */
export function simulateWorkers(
  tasks: readonly SimTask[],
  workers: number,
  memory: number,
  dispatchMs = DISPATCH_MS,
): SimResult {
  const capacity: Capacity = { slots: workers, cpu: workers, memory };
  return simulate(
    tasks.map((t) => ({ ...t, durationMs: t.durationMs + dispatchMs, cpu: Math.min(t.cpu, 1) })),
    capacity,
  );
}
