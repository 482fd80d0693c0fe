/**
 * What /proc says of a process, for the deploy benchmarks (deploy-rsync.ts, and
 * scripts/deploy-ab.mjs through the build): its CPU time and its peak RSS.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

/** Peak RSS of a process since the last reset (VmHWM), then resets it; 0 where /proc lacks it. */
export function takePeakKb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

const TICK_MS = 1000 / (Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100);

/**
 * CPU milliseconds of a process (user + system, all threads) from /proc, or with `reaped` those
 * of its children it has waited for; 0 where /proc lacks it. CPU, unlike wall time, a loaded
 * machine does not stretch: the load-independent comparison.
 */
export function cpuMs(pid: number | undefined, reaped = false): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name: state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return (reaped ? f[13]! + f[14]! : f[11]! + f[12]!) * TICK_MS;
  } catch {
    return 0;
  }
}
