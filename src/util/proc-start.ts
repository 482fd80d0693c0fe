/**
 * Who a process id belongs to: a pid alone is reused by the kernel, so a record of "process 4242"
 * left by a crashed run could name an unrelated process by the time it is read. The start time
 * (clock ticks since boot, field 22 of /proc/<pid>/stat) together with the pid names one process
 * for the life of the machine. Linux only; elsewhere the answer is undefined and callers fall
 * back to what a pid alone can tell.
 */
import { readFileSync } from 'node:fs';

/** The start time of `pid` (opaque text, compare for equality), or undefined (gone, or no /proc). */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); starttime is field 22.
  return fields[0] === 'Z' ? undefined : fields[19];
}

let own: { start: string | undefined } | undefined;
/** This process's start time (processStartTime of its own pid), read once: it never changes. */
export function ownStartTime(): string | undefined {
  own ??= { start: processStartTime(process.pid) };
  return own.start;
}

/** Whether a process id exists on this host (a zombie counts as gone). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch (e) {
    // No /proc at all (not Linux): kill(0) has answered. With /proc, the process just exited.
    return (e as NodeJS.ErrnoException).code !== 'ENOENT' || !hasProc();
  }
}

let procChecked: boolean | undefined;
/** Whether this system has a readable /proc (Linux). */
export function hasProc(): boolean {
  if (procChecked === undefined) {
    try {
      readFileSync('/proc/self/stat');
      procChecked = true;
    } catch {
      procChecked = false;
    }
  }
  return procChecked;
}

/**
 * Whether the process recorded as (`pid`, `start`) still runs: same pid and, where start times
 * can be read, the same start time (so a reused pid is not mistaken for it).
 */
export function sameProcessAlive(pid: number, start: string | undefined): boolean {
  if (!pidAlive(pid)) return false;
  if (start === undefined) return true;
  const now = processStartTime(pid);
  return now === undefined ? !hasProc() : now === start;
}

/** Whether `pid` is this process's parent, grandparent, ... (false where /proc is missing). */
export function isAncestor(pid: number): boolean {
  let p = process.ppid;
  for (let depth = 0; p > 1 && depth < 64; depth++) {
    if (p === pid) return true;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      // Field 4 (ppid) is the second after the command name.
      p = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return false;
    }
  }
  return false;
}
