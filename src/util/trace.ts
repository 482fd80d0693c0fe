/**
 * Phase timings for profiling Slipway itself: with SLIPWAY_TRACE=1 each `trace(label)` prints the
 * milliseconds since the process started and the CPU time this process has used so far (which,
 * unlike the wall time, a busy machine does not stretch), to stderr. Costs one property read when off.
 */
const on = !!process.env.SLIPWAY_TRACE;

export function trace(label: string): void {
  if (!on) return;
  const { user, system } = process.cpuUsage();
  const cpu = ((user + system) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[trace] ${performance.now().toFixed(1).padStart(7)} ms  cpu ${cpu} ms  ${label}\n`);
}
