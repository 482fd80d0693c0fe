/**
 * Who runs a deployment: pid, host and the process's start time (so a pid the kernel handed to
 * another process since is not mistaken for the deployer). Only a process on this host can be
 * checked; for others the lease's expiry decides.
 */
import os from 'node:os';
import { ownStartTime, sameProcessAlive } from '../util/proc-start.js';

export interface Owner {
  pid: number;
  host: string;
  /** The kernel's start time of the process (Linux: clock ticks since boot), '' when unknown. */
  start: string;
}

/** This process as an owner. */
export function currentOwner(): Owner {
  return { pid: process.pid, host: os.hostname(), start: ownStartTime() ?? '' };
}

/** true: alive; false: dead (or its pid now belongs to another process); undefined: another host. */
export function ownerAlive(o: Owner): boolean | undefined {
  if (o.host !== os.hostname()) return undefined;
  return sameProcessAlive(o.pid, o.start === '' ? undefined : o.start);
}

/** A short description for messages: "pid 123 on build-7". */
export function describeOwner(o: Pick<Owner, 'pid' | 'host'>): string {
  return `pid ${o.pid} on ${o.host}`;
}
