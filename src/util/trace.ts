/**
 * Phase timings for profiling Slipway itself: with SLIPWAY_TRACE=1 each `trace(label)` prints the
 * milliseconds since the command's process started and the CPU time this process has used for
 * the command so far (which, unlike the wall time, a busy machine does not stretch), to stderr.
 * A command the daemon runs counts from when the client started and from the spare's CPU at the
 * request (`traceFrom`), and the process's resident memory then. Costs one environment lookup
 * when off. With SLIPWAY_TRACE=abs the time is the wall clock's milliseconds modulo 100 s instead,
 * so that the lines of a deployer and its agents (processes of their own) sort together.
 */
let origin = performance.timeOrigin;
let cpuBase: NodeJS.CpuUsage | undefined;

/** Counts from here on: `startedAt` is when the client process started (ms since the epoch). */
export function traceFrom(startedAt: number): void {
  origin = startedAt;
  cpuBase = process.cpuUsage();
}

export function trace(label: string): void {
  if (!process.env.SLIPWAY_TRACE) return;
  const { user, system } = process.cpuUsage(cpuBase);
  const cpu = ((user + system) / 1000).toFixed(1).padStart(6);
  const ms =
    process.env.SLIPWAY_TRACE === 'abs'
      ? (performance.timeOrigin + performance.now()) % 100_000
      : performance.timeOrigin + performance.now() - origin;
  const rss = (process.memoryUsage.rss() / 1048576).toFixed(0).padStart(4);
  process.stderr.write(`[trace] ${ms.toFixed(1).padStart(7)} ms  cpu ${cpu} ms  rss ${rss} MB  ${label}\n`);
}
