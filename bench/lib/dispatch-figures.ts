/**
 * The scale-out bench's figures from what a run leaves: its makespan against the lower bound, and
 * the dispatch overhead per task and per stage from the coordinator's SLIPWAY_DISPATCH_TRACE.
 */
import { quantile } from '../../src/util/quantile.js';

/** What the bench reads of a run summary (`slipway run --summary`). */
export interface Summary {
  startedAt: string;
  tasks: {
    id: string;
    startedAt: string;
    endedAt: string;
    durationMs: number;
    worker?: string;
    status: string;
  }[];
}

/** Makespan and lower bound (ms) from a run summary: max(longest task, work / slots). */
export function figures(s: Summary, slots: number): { makespan: number; bound: number } {
  const start = Date.parse(s.startedAt);
  const end = Math.max(...s.tasks.map((t) => Date.parse(t.endedAt)));
  const work = s.tasks.reduce((a, t) => a + t.durationMs, 0);
  const longest = Math.max(...s.tasks.map((t) => t.durationMs));
  return { makespan: end - start, bound: Math.max(longest, work / slots) };
}

interface TraceLine {
  taskId: string;
  worker?: string;
  queued: number;
  added?: number;
  stages?: {
    taken: number;
    checked?: number;
    spawned?: number;
    exited?: number;
    done: number;
    cpuWait?: number;
  };
  reported: number;
}

/**
 * Dispatch overhead per task from the coordinator's SLIPWAY_DISPATCH_TRACE (src/scale/
 * dispatch-trace.ts; one machine, so the summary's times and Redis' clock agree): its process's
 * start on a worker minus the later of (the task ready in the executor, that worker's previous
 * command ended). Waiting for a busy fleet is queueing, not dispatch. And the stages: ready ->
 * queued (coordinator: key, history) -> added (in Redis) -> taken by the worker (counted from
 * the later of added and the worker free) -> checked (signature, commit, digest, keys, heartbeat)
 * -> spawned; and the way back: command ended -> outputs saved -> result at the coordinator.
 */
export function dispatchFigures(s: Summary, trace: string) {
  const ready = new Map(s.tasks.map((t) => [t.id, Date.parse(t.startedAt)]));
  const lines = trace
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TraceLine)
    .filter((l) => l.stages?.spawned !== undefined && l.stages.checked !== undefined);
  const stage = {
    coordinator: [],
    queue: [],
    pickup: [],
    checks: [],
    spawn: [],
    upload: [],
    report: [],
  } as Record<string, number[]>;
  const total: number[] = [];
  // The same, less the time the worker's process was ready but waiting for one of this machine's
  // CPUs, which its seven neighbours, the coordinator and Redis share (src/scale/cpu-wait.ts): on
  // a fleet of machines each worker has CPUs of its own. A diagnostic beside the target's figure.
  const ownCpu: number[] = [];
  const byWorker = new Map<string, TraceLine[]>();
  for (const l of lines) byWorker.set(l.worker ?? '', [...(byWorker.get(l.worker ?? '') ?? []), l]);
  for (const jobs of byWorker.values()) {
    jobs.sort((a, b) => a.stages!.spawned! - b.stages!.spawned!);
    let free = 0;
    for (const l of jobs) {
      const st = l.stages!;
      const r = ready.get(l.taskId) ?? l.queued;
      total.push(st.spawned! - Math.max(r, free));
      if (st.cpuWait !== undefined) ownCpu.push(st.spawned! - Math.max(r, free) - st.cpuWait);
      // The coordinator's stages count only when the worker was waiting for them.
      if (free < (l.added ?? l.queued)) {
        stage.coordinator!.push(l.queued - r);
        if (l.added !== undefined) stage.queue!.push(l.added - l.queued);
      }
      stage.pickup!.push(st.taken - Math.max(l.added ?? l.queued, free));
      stage.checks!.push(st.checked! - st.taken);
      stage.spawn!.push(st.spawned! - st.checked!);
      if (st.exited !== undefined) stage.upload!.push(st.done - st.exited);
      stage.report!.push(l.reported - st.done);
      free = st.exited ?? st.done;
    }
  }
  const q = (xs: number[]) =>
    xs.length ? `${Math.round(quantile(xs, 0.5))}/${Math.round(quantile(xs, 0.95))}` : '-';
  // The run's own ends: its start -> the first job queued, the last command ended -> the run's
  // last task reported.
  const lead = Math.min(...lines.map((l) => l.queued)) - Date.parse(s.startedAt);
  const tail =
    Math.max(...s.tasks.map((t) => Date.parse(t.endedAt))) -
    Math.max(...lines.map((l) => l.stages!.exited ?? l.stages!.done));
  const text = `dispatch p50/p95 ${q(total)} ms (less the worker's wait for a CPU: ${q(ownCpu)}) = ${Object.entries(
    stage,
  )
    .map(([k, xs]) => `${k} ${q(xs)}`)
    .join(
      ', ',
    )} (ms; the way back: command ended -> outputs uploaded ("upload", after the worker's next command started) -> result at the coordinator ("report")); run start -> first job queued ${Math.round(lead)} ms, last command ended -> run's end ${Math.round(tail)} ms`;
  return { total, ownCpu, stage, text };
}
