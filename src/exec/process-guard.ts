/**
 * Nothing a run starts outlives it. Every task runs in its own process group; the guard learns
 * each group as it starts and ends, and keeps two records of the live ones:
 *
 * - the watchdog (watchdog.ts), which kills them within about a second of slipway dying by any
 *   signal;
 * - one file per live group under `.slipway/procs/` (`<pgid>`: the group leader's start time and
 *   the owning slipway's pid and start time), for the case where the watchdog died too (a kill
 *   of every process, a reboot of a container): the next run in the checkout reaps what a dead
 *   run left (`reapOrphans`) before it starts anything.
 *
 * A pid is reused by the kernel, so a record is only acted on while it still names the same
 * process: the leader's start time must match, or the leader must be gone (the kernel does not
 * hand out a group's id again while any member of that group lives).
 */
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hasProc, ownStartTime, pidAlive, processStartTime, sameProcessAlive } from '../util/proc-start.js';
import { Watchdog } from './watchdog.js';

/** What the process runner tells about the groups it starts. */
export interface ProcessGuard {
  started(pgid: number): void;
  ended(pgid: number): void;
}

/** The guard of one run: watchdog plus records under `dir` (made on the first start). */
export class GroupGuard implements ProcessGuard {
  readonly #watchdog = new Watchdog();
  #dirMade = false;
  readonly #owner: string;

  constructor(private readonly dir: string) {
    this.#owner = `${process.pid} ${ownStartTime() ?? '-'}`;
  }

  started(pgid: number): void {
    try {
      if (!this.#dirMade) {
        mkdirSync(this.dir, { recursive: true });
        this.#dirMade = true;
      }
      writeFileSync(path.join(this.dir, String(pgid)), `${processStartTime(pgid) ?? '-'} ${this.#owner}\n`);
    } catch {
      // The watchdog still covers this group.
    }
    this.#watchdog.watch(pgid);
  }

  ended(pgid: number): void {
    this.#watchdog.unwatch(pgid);
    try {
      unlinkSync(path.join(this.dir, String(pgid)));
    } catch {
      // Never written, or already gone.
    }
  }

  /** The run is over (every group has ended): the watchdog may exit. */
  close(): void {
    this.#watchdog.close();
  }
}

export interface Reaped {
  pgid: number;
  /** The pid of the run that started it. */
  owner: number;
}

/**
 * Kills the process groups recorded under `dir` by runs that are no longer alive (SIGTERM, then
 * SIGKILL for what is left after `graceMs`), and removes their records. Returns what it killed.
 */
export async function reapOrphans(dir: string, graceMs = 1000): Promise<Reaped[]> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const reaped: Reaped[] = [];
  for (const name of names) {
    const pgid = Number(name);
    const file = path.join(dir, name);
    if (!Number.isInteger(pgid) || pgid <= 1) {
      unlinkQuiet(file);
      continue;
    }
    let fields: string[];
    try {
      fields = readFileSync(file, 'utf8').trim().split(' ');
    } catch {
      continue;
    }
    const [leaderStart, ownerPid, ownerStart] = fields;
    const owner = Number(ownerPid);
    // A live run's groups are its own business.
    if (owner === process.pid || (owner > 0 && sameProcessAlive(owner, dash(ownerStart)))) continue;
    // Without /proc a pid cannot be told from its successor: leave it (the watchdog covered it).
    if (hasProc() && stillOurs(pgid, dash(leaderStart)) && groupAlive(pgid)) {
      signalGroup(pgid, 'SIGTERM');
      reaped.push({ pgid, owner });
    }
    unlinkQuiet(file);
  }
  if (!reaped.length) return reaped;
  const until = Date.now() + graceMs;
  while (Date.now() < until && reaped.some((r) => groupAlive(r.pgid))) await sleep(50);
  for (const r of reaped) signalGroup(r.pgid, 'SIGKILL');
  return reaped;
}

/** The recorded group still exists as the one we started (see the header). */
function stillOurs(pgid: number, leaderStart: string | undefined): boolean {
  const now = processStartTime(pgid);
  if (now === undefined) return !pidAlive(pgid); // leader gone (or a zombie): members are ours
  return leaderStart !== undefined && now === leaderStart;
}

/** Some member of the group is alive (zombies count as gone where /proc tells). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  return membersAlive(pgid);
}

function membersAlive(pgid: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const p of pids) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // f[0] state, f[2] process group.
      if (f[2] === String(pgid) && f[0] !== 'Z') return true;
    } catch {
      // Exited meanwhile.
    }
  }
  return false;
}

function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    // Gone.
  }
}

const dash = (s: string | undefined) => (s === undefined || s === '-' ? undefined : s);

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone.
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
