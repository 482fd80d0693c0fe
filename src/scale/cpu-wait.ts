/**
 * How long this process's main thread has been ready to run but waiting for a CPU, from Linux's
 * /proc/self/schedstat (its second field: time spent on a run queue, ns). Read at two points, the
 * difference is the part of that stretch the machine's scheduler, not this code, took: the
 * dispatch trace (dispatch-trace.ts) records it for a job's way from the worker's wake-up to its
 * command's start, where a machine shared with other workers makes most of the delay.
 * Undefined where /proc is not (macOS) or unreadable.
 */
import { readFileSync } from 'node:fs';

export function cpuWaitMs(): number | undefined {
  try {
    const waited = Number(readFileSync('/proc/self/schedstat', 'latin1').split(' ')[1]);
    return Number.isFinite(waited) ? waited / 1e6 : undefined;
  } catch {
    return undefined;
  }
}
