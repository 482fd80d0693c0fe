/**
 * The scheduling decision shared by the executor and the simulator: start the highest-ranked
 * ready task that fits; when the top task does not fit, reserve the earliest time it will and
 * backfill lower-ranked tasks only if they cannot delay that reservation (EASY backfilling over
 * a multi-resource pool: slots, cpu, memory).
 */
import type { Capacity } from '../config/capacity.js';

export interface Demand {
  cpu: number;
  memory: number;
}

export interface Candidate extends Demand {
  id: string;
  rank: number;
  durationMs: number;
}

export interface Running extends Demand {
  id: string;
  /** Predicted end (absolute ms on the same clock as `now`). */
  expectedEndMs: number;
}

interface Vec {
  slots: number;
  cpu: number;
  memory: number;
}

const EPS = 1e-9;
const fits = (free: Vec, d: Demand): boolean =>
  free.slots >= 1 - EPS && free.cpu >= d.cpu - EPS && free.memory >= d.memory - EPS;
const minus = (v: Vec, d: Demand): Vec => ({
  slots: v.slots - 1,
  cpu: v.cpu - d.cpu,
  memory: v.memory - d.memory,
});
const plus = (v: Vec, d: Demand): Vec => ({
  slots: v.slots + 1,
  cpu: v.cpu + d.cpu,
  memory: v.memory + d.memory,
});

/** Orders candidates: higher upward rank first, then longer, then id. */
function byPriority(a: Candidate, b: Candidate): number {
  return b.rank - a.rank || b.durationMs - a.durationMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Ids of the ready tasks to start at `now`, in start order. `ready` need not be sorted. */
export function pickTasks(
  now: number,
  ready: readonly Candidate[],
  running: readonly Running[],
  cap: Capacity,
): string[] {
  let free: Vec = { slots: cap.slots, cpu: cap.cpu, memory: cap.memory };
  for (const r of running) free = minus(free, r);
  const ends = running.map((r) => ({ end: Math.max(r.expectedEndMs, now), d: r as Demand }));
  const chosen: string[] = [];
  let reservation: { at: number; spare: Vec } | undefined;

  for (const c of [...ready].sort(byPriority)) {
    if (free.slots < 1 - EPS) break;
    if (fits(free, c)) {
      if (reservation) {
        const endsBefore = now + c.durationMs <= reservation.at + EPS;
        if (!endsBefore) {
          if (!fits(reservation.spare, c)) continue;
          reservation.spare = minus(reservation.spare, c);
        }
      }
      free = minus(free, c);
      ends.push({ end: now + c.durationMs, d: c });
      chosen.push(c.id);
    } else if (!reservation) {
      // Earliest time the blocked top task fits, assuming predictions hold.
      let avail = free;
      let at = Number.POSITIVE_INFINITY;
      for (const e of [...ends].sort((a, b) => a.end - b.end)) {
        avail = plus(avail, e.d);
        if (fits(avail, c)) {
          at = e.end;
          break;
        }
      }
      if (at === Number.POSITIVE_INFINITY) continue; // never fits: the caller reports it
      // What is left at `at` once the reserved task starts; backfill running past `at` must fit in it.
      const atAvail = ends.filter((e) => e.end <= at + EPS).reduce((v, e) => plus(v, e.d), free);
      reservation = { at, spare: minus(atAvail, c) };
    }
  }
  return chosen;
}
