/**
 * CPU seconds and peak RSS of whole process trees, sampled from Linux /proc. Each task runs in
 * its own process group, so one scan of /proc attributes every process to its task.
 */
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) is 100 on every Linux we target.
const PAGE = 4096;

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

  sample(): void {
    if (!this.#enabled || !this.#groups.size) return;
    const seen = new Map<number, { ticks: Map<number, number>; rss: number }>();
    let entries: string[];
    try {
      entries = readdirSync('/proc');
    } catch {
      return;
    }
    for (const name of entries) {
      const c = name.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      } catch {
        continue;
      }
      // Fields after the parenthesised command name; the name itself may contain spaces.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pgrp = Number(f[2]);
      if (!this.#groups.has(pgrp)) continue;
      const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      const rss = Number(f[21]) * PAGE;
      const s = seen.get(pgrp) ?? { ticks: new Map(), rss: 0 };
      s.ticks.set(Number(name), ticks);
      s.rss += rss;
      seen.set(pgrp, s);
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
