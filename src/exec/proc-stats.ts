/**
 * CPU seconds and peak RSS of whole process trees, sampled from Linux /proc. Each task runs in
 * its own process group, so one scan of /proc attributes every process to its task.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) is 100 on every Linux we target.
const PAGE = 4096;
const CHILDREN_SUPPORTED =
  process.platform === 'linux' && existsSync(`/proc/${process.pid}/task/${process.pid}/children`);

export interface TreeStats {
  cpuSeconds: number;
  peakRssBytes: number;
}

interface Group {
  /** Best CPU total seen: live processes' own + reaped children's time. */
  cpuTicks: number;
  /** Ticks of processes already gone, so their time is not lost when they exit. */
  lastByPid: Map<number, number>;
  goneTicks: number;
  peakRss: number;
}

/** Samples registered process groups every `intervalMs` while any is registered. */
export class ProcessTreeSampler {
  readonly #groups = new Map<number, Group>();
  #timer: NodeJS.Timeout | undefined;
  readonly #enabled = process.platform === 'linux';

  constructor(private readonly intervalMs = 100) {}

  track(pgid: number): void {
    this.#groups.set(pgid, { cpuTicks: 0, lastByPid: new Map(), goneTicks: 0, peakRss: 0 });
    if (this.#enabled && !this.#timer) {
      this.#timer = setInterval(() => this.sample(), this.intervalMs);
      this.#timer.unref();
    }
    this.sample();
  }

  /** Stops tracking and returns the totals. */
  stop(pgid: number): TreeStats {
    this.sample();
    const g = this.#groups.get(pgid);
    this.#groups.delete(pgid);
    if (!this.#groups.size && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    return { cpuSeconds: (g?.cpuTicks ?? 0) / CLK_TCK, peakRssBytes: g?.peakRss ?? 0 };
  }

  #samples = 0;

  sample(): void {
    if (!this.#enabled || !this.#groups.size) return;
    // Walking each tree through /proc/<pid>/task/<pid>/children costs a few reads per process;
    // a full /proc scan (which also finds orphans re-parented away from the tree but still in the
    // group) costs one read per process on the machine, so it runs only every 20th sample.
    const full = this.#samples++ % 20 === 0 || !CHILDREN_SUPPORTED;
    const seen = new Map<number, { ticks: Map<number, number>; rss: number }>();
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
      const s = seen.get(pgrp) ?? { ticks: new Map(), rss: 0 };
      if (s.ticks.has(pid)) return false;
      s.ticks.set(pid, Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
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
        const stack = [pgid, ...g.lastByPid.keys()];
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
      const s = seen.get(pgid);
      // A process that vanished was reaped by its parent (its time moves into the parent's
      // cutime) or by us; count its last reading only if its parent is gone too.
      for (const [pid, t] of g.lastByPid) if (!s?.ticks.has(pid) && pid === pgid) g.goneTicks += t;
      g.lastByPid = s?.ticks ?? new Map();
      let live = 0;
      for (const t of g.lastByPid.values()) live += t;
      g.cpuTicks = Math.max(g.cpuTicks, g.goneTicks + live);
      g.peakRss = Math.max(g.peakRss, s?.rss ?? 0);
    }
  }
}
