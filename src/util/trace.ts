/**
 * Phase timings for profiling Slipway itself: with SLIPWAY_TRACE=1 each `trace(label)` prints the
 * milliseconds since the process started, to stderr. Costs one property read when off.
 */
const on = !!process.env.SLIPWAY_TRACE;

export function trace(label: string): void {
  if (on) process.stderr.write(`[trace] ${performance.now().toFixed(1).padStart(7)} ms  ${label}\n`);
}
