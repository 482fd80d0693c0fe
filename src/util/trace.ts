/**
 * Phase timings for profiling Slipway itself: with SLIPWAY_TRACE=1 each `trace(label)` prints the
 * milliseconds since the command's process started and the CPU time this process has used for
 * the command so far (which, unlike the wall time, a busy machine does not stretch), to stderr.
 * A command the daemon runs counts from when the client started and from the spare's CPU at the
 * request (`traceFrom`), and the process's resident memory then. Costs one environment lookup
 * when off.
 *
 * Also, where Linux says (/proc/thread-self/schedstat), the CPU time of the calling thread alone
 * (`thread`: on the main one, the event loop's, without the collector's, the compilers' and the
 * thread pool's), and the time of day (UTC), which lines up the deployer's spans with an agent's.
 * On the shared two-core machine both told what the process's CPU and the wall did not: an
 * edit's deltas cost the deployer's thread ~80 ms of the ~130 ms its process spent between the
 * stage request and the staging, and neither its thread nor the agent's was busy for most of
 * that wall time.
 */
import { readFileSync } from 'node:fs';

let origin = performance.timeOrigin;
let cpuBase: NodeJS.CpuUsage | undefined;
let threadBase = 0;

/** Counts from here on: `startedAt` is when the client process started (ms since the epoch). */
export function traceFrom(startedAt: number): void {
  origin = startedAt;
  cpuBase = process.cpuUsage();
  threadBase = threadCpuMs() ?? 0;
}

/** Whether /proc/thread-self/schedstat can be read (Linux); false after the first failure. */
let schedstat = true;

/** CPU time of the calling thread in ms (its first field: nanoseconds on a CPU), where known. */
function threadCpuMs(): number | undefined {
  if (!schedstat) return undefined;
  try {
    const ns = Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);
    if (Number.isFinite(ns)) return ns / 1e6;
  } catch {}
  schedstat = false;
  return undefined;
}

export function trace(label: string): void {
  if (!process.env.SLIPWAY_TRACE) return;
  const { user, system } = process.cpuUsage(cpuBase);
  const cpu = ((user + system) / 1000).toFixed(1).padStart(6);
  const thread = threadCpuMs();
  const own = thread === undefined ? '' : `  thread ${(thread - threadBase).toFixed(1).padStart(6)} ms`;
  const now = performance.timeOrigin + performance.now();
  const ms = now - origin;
  const rss = (process.memoryUsage.rss() / 1048576).toFixed(0).padStart(4);
  const at = new Date(now).toISOString().slice(11, 23);
  process.stderr.write(
    `[trace] ${ms.toFixed(1).padStart(7)} ms  cpu ${cpu} ms${own}  rss ${rss} MB  ${at}  ${label}\n`,
  );
}
