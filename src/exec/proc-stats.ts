/**
 * CPU seconds, peak RSS and disk I/O of whole process trees, sampled from Linux /proc. Each task
 * runs in its own process group, so one scan of /proc attributes every process to its task.
 *
 * Counting a tree whose members come and go: a process's CPU (`cutime`) and I/O (`/proc/<pid>/io`)
 * include those of the children it has reaped, so the tree's total is the sum over live members
 * plus the last reading of each member that vanished without a living ancestor in the group to
 * inherit its counts (an orphan reaped by init). The group leader's own final counts, which
 * include everything it reaped, come from the task's shell as it exits (`final` in `stop`),
 * since by the time Node hands us the exit the leader is reaped and unreadable.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { addIo, type IoCounters, maxIo, NO_IO, parseProcIo } from '../util/io-counters.js';

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) is 100 on every Linux we target.
const PAGE = 4096;
const CHILDREN_SUPPORTED =
  process.platform === 'linux' && existsSync(`/proc/${process.pid}/task/${process.pid}/children`);

export interface TreeStats {
  cpuSeconds: number;
  peakRssBytes: number;
  /** Absent where /proc/<pid>/io cannot be read (not Linux, or no permission). */
  io?: IoCounters;
}

/** The leader's counts as it exited (see the gate in runner.ts). */
export interface FinalReading {
  ticks: number;
  io?: IoCounters;
}

interface Reading {
  ppid: number;
  ticks: number;
  io: IoCounters | undefined;
}

interface Group {
  last: Map<number, Reading>;
  /** Counts of members that vanished with no living ancestor in the group to inherit them. */
  goneTicks: number;
  goneIo: IoCounters;
  /** Best totals seen: counters only grow, a reading lower than before is a missed member. */
  cpuTicks: number;
  io: IoCounters;
  ioSeen: boolean;
  peakRss: number;
}

/** Samples registered process groups every `intervalMs` while any is registered. */
export class ProcessTreeSampler {
  readonly #groups = new Map<number, Group>();
  #timer: NodeJS.Timeout | undefined;
  readonly #enabled = process.platform === 'linux';

  constructor(private readonly intervalMs = 100) {}

  track(pgid: number): void {
    this.#groups.set(pgid, {
      last: new Map(),
      goneTicks: 0,
      goneIo: NO_IO,
      cpuTicks: 0,
      io: NO_IO,
      ioSeen: false,
      peakRss: 0,
    });
    if (this.#enabled && !this.#timer) {
      this.#timer = setInterval(() => this.sample(), this.intervalMs);
      this.#timer.unref();
    }
    this.sample();
  }

  /** Stops tracking and returns the totals; `final` is the leader's reading as it exited. */
  stop(pgid: number, final?: FinalReading): TreeStats {
    this.sample();
    const g = this.#groups.get(pgid);
    this.#groups.delete(pgid);
    if (!this.#groups.size && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    if (!g) return { cpuSeconds: 0, peakRssBytes: 0 };
    if (final) {
      // The leader's final counts replace its last sampled ones; members still alive then were
      // killed with the group and keep their last reading.
      const others = [...g.last].filter(([pid]) => pid !== pgid).map(([, r]) => r);
      const ticks = g.goneTicks + final.ticks + others.reduce((s, r) => s + r.ticks, 0);
      g.cpuTicks = Math.max(g.cpuTicks, ticks);
      if (final.io) {
        let io = addIo(g.goneIo, final.io);
        for (const r of others) if (r.io) io = addIo(io, r.io);
        g.io = maxIo(g.io, io);
        g.ioSeen = true;
      }
    }
    return {
      cpuSeconds: g.cpuTicks / CLK_TCK,
      peakRssBytes: g.peakRss,
      ...(g.ioSeen ? { io: g.io } : {}),
    };
  }

  #samples = 0;

  sample(): void {
    if (!this.#enabled || !this.#groups.size) return;
    // Walking each tree through /proc/<pid>/task/<pid>/children costs a few reads per process;
    // a full /proc scan (which also finds orphans re-parented away from the tree but still in the
    // group) costs one read per process on the machine, so it runs only every 20th sample.
    const full = this.#samples++ % 20 === 0 || !CHILDREN_SUPPORTED;
    const seen = new Map<number, { now: Map<number, Reading>; rss: number }>();
    const visit = (pid: number, expectGroup?: number) => {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      } catch {
        return false;
      }
      // Fields after the parenthesised command name; the name itself may contain spaces.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pgrp = Number(f[2]);
      if (expectGroup !== undefined ? pgrp !== expectGroup : !this.#groups.has(pgrp)) return false;
      const s = seen.get(pgrp) ?? { now: new Map(), rss: 0 };
      if (s.now.has(pid)) return false;
      s.now.set(pid, { ppid: Number(f[1]), ticks: statTicks(f), io: readIo(pid) });
      s.rss += Number(f[21]) * PAGE;
      seen.set(pgrp, s);
      return true;
    };
    if (full) {
      let entries: string[];
      try {
        entries = readdirSync('/proc');
      } catch {
        return;
      }
      for (const name of entries) {
        const c = name.charCodeAt(0);
        if (c >= 48 && c <= 57) visit(Number(name));
      }
    } else {
      for (const [pgid, g] of this.#groups) {
        const stack = [pgid, ...g.last.keys()];
        while (stack.length) {
          const pid = stack.pop()!;
          if (!visit(pid, pgid)) continue;
          try {
            for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').split(' '))
              if (c) stack.push(Number(c));
          } catch {
            // gone between the two reads
          }
        }
      }
    }
    for (const [pgid, g] of this.#groups) {
      const now = seen.get(pgid)?.now ?? new Map<number, Reading>();
      for (const [pid, r] of g.last) {
        if (now.has(pid) || pid === pgid || inherited(pid, g.last, now, pgid)) continue;
        g.goneTicks += r.ticks;
        if (r.io) g.goneIo = addIo(g.goneIo, r.io);
      }
      // The leader stays in `last` after it is gone: its last reading counts until `stop`.
      const leader = g.last.get(pgid);
      g.last = now;
      if (leader && !now.has(pgid)) g.last.set(pgid, leader);
      let ticks = g.goneTicks;
      let io = g.goneIo;
      let ioSeen = false;
      for (const r of g.last.values()) {
        ticks += r.ticks;
        if (r.io) {
          io = addIo(io, r.io);
          ioSeen = true;
        }
      }
      g.cpuTicks = Math.max(g.cpuTicks, ticks);
      if (ioSeen) {
        g.io = maxIo(g.io, io);
        g.ioSeen = true;
      }
      g.peakRss = Math.max(g.peakRss, seen.get(pgid)?.rss ?? 0);
    }
  }
}

/**
 * Whether a vanished member's counts live on in an ancestor: its nearest ancestor that is still
 * alive in the group (or the leader, whose final counts arrive at `stop`) reaped it.
 */
function inherited(
  pid: number,
  before: Map<number, Reading>,
  now: Map<number, Reading>,
  pgid: number,
): boolean {
  let p = before.get(pid)?.ppid;
  for (let hops = 0; p !== undefined && hops < 64; hops++) {
    if (now.has(p) || p === pgid) return true;
    const up = before.get(p);
    if (!up) return false;
    p = up.ppid;
  }
  return false;
}

/** utime + stime + cutime + cstime from the fields after the command name of /proc/<pid>/stat. */
export function statTicks(f: readonly string[]): number {
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

function readIo(pid: number): IoCounters | undefined {
  try {
    return parseProcIo(readFileSync(`/proc/${pid}/io`, 'latin1'));
  } catch {
    return undefined;
  }
}
