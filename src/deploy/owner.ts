/**
 * Who runs a deployment: pid, host and the process's start time (so a pid the kernel handed to
 * another process since is not mistaken for the deployer). Only a process on this host can be
 * checked; for others the lease's expiry decides.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Owner {
  pid: number;
  host: string;
  /** The kernel's start time of the process (Linux: clock ticks since boot), '' when unknown. */
  start: string;
}

/** This process as an owner. */
export function currentOwner(): Owner {
  return { pid: process.pid, host: os.hostname(), start: procStart(process.pid)?.start ?? '' };
}

/** true: alive; false: dead (or its pid now belongs to another process); undefined: another host. */
export function ownerAlive(o: Owner): boolean | undefined {
  if (o.host !== os.hostname()) return undefined;
  try {
    process.kill(o.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = procStart(o.pid);
  if (!now) return true; // no /proc: the signal check is all there is
  if (now.zombie) return false;
  return o.start === '' || now.start === o.start;
}

/** A short description for messages: "pid 123 on build-7". */
export function describeOwner(o: Pick<Owner, 'pid' | 'host'>): string {
  return `pid ${o.pid} on ${o.host}`;
}

function procStart(pid: number): { start: string; zombie: boolean } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields count from the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { start: rest[19] ?? '', zombie: rest[0] === 'Z' || rest[0] === 'X' };
  } catch {
    return undefined;
  }
}
