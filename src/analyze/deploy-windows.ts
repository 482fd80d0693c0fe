/**
 * When to deploy, from history: for each hour of the week (UTC), how slow deployments and heavy
 * runs were there (each against its own median, so a deploy and a build compare) and how often
 * they failed, with the number of samples; and, when enough hours have enough samples, the
 * 3-hour block where they went best, written as a window `environments.X.windows` accepts.
 */
import type { Deployment } from './deployments.js';
import { isFailure, isFinished } from './deployments.js';
import type { RunRecord } from './history.js';
import { median } from './stats.js';

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
/** Samples an hour needs before it is ranked, and a block before it can be recommended. */
export const MIN_HOUR_SAMPLES = 3;
const MIN_BLOCK_SAMPLES = 6;
/** Blocks that must qualify before a best one means anything. */
const MIN_BLOCKS = 4;
const BLOCK_HOURS = 3;

export interface HourStats {
  /** 0 = Monday 00:00-01:00 UTC … 167 = Sunday 23:00-24:00 UTC. */
  hourOfWeek: number;
  label: string;
  samples: number;
  deployments: number;
  heavyRuns: number;
  failures: number;
  failureRate: number;
  /** Median of duration / the median of its kind: 1.3 = 30% slower than usual. */
  slowdown: number | null;
}

export interface WindowAdvice {
  deployments: number;
  heavyRuns: number;
  /** How a run was judged heavy. */
  heavyRule: string;
  /** Every hour with samples, in week order. */
  hours: HourStats[];
  /** Hours with enough samples, worst first (failure rate, then slowdown). */
  worst: HourStats[];
  recommended: { window: string; samples: number; failureRate: number; slowdown: number | null } | null;
  /** Why there is no recommendation, when there is none. */
  note: string | null;
}

interface Sample {
  at: number;
  relative: number | null;
  failed: boolean;
  kind: 'deployment' | 'heavy-run';
}

const hourOfWeek = (at: number) => {
  const d = new Date(at);
  return ((d.getUTCDay() + 6) % 7) * 24 + d.getUTCHours();
};
const label = (h: number) => `${DAYS[Math.floor(h / 24)]} ${String(h % 24).padStart(2, '0')}:00`;

/** Runs in the top quarter of CPU-seconds (or of duration, where CPU was not measured). */
function heavyRuns(runs: readonly RunRecord[]): { runs: RunRecord[]; rule: string } {
  const finished = runs.filter((r) => r.status === 'success' || r.status === 'failed');
  const cpu = finished.map((r) => r.tasks.reduce((s, t) => s + (t.cpuSeconds ?? 0), 0));
  const useCpu = cpu.some((c) => c > 0);
  const weight = useCpu ? cpu : finished.map((r) => r.durationMs ?? 0);
  if (!finished.length) return { runs: [], rule: 'no finished runs' };
  const sorted = [...weight].sort((a, b) => a - b);
  const cut = sorted[Math.floor(sorted.length * 0.75)] ?? 0;
  return {
    runs: finished.filter((_, i) => weight[i]! >= cut && weight[i]! > 0),
    rule: `top quarter of runs by ${useCpu ? 'CPU-seconds' : 'duration'}`,
  };
}

function samplesOf(deployments: readonly Deployment[], heavy: readonly RunRecord[]): Sample[] {
  const out: Sample[] = [];
  const byEnv = new Map<string, Deployment[]>();
  for (const d of deployments.filter((x) => isFinished(x) && x.kind !== 'rollback')) {
    byEnv.set(d.environment, [...(byEnv.get(d.environment) ?? []), d]);
  }
  for (const list of byEnv.values()) {
    const ok = list.filter((d) => !isFailure(d) && d.durationMs);
    const usual = ok.length ? median(ok.map((d) => d.durationMs!)) : 0;
    for (const d of list)
      out.push({
        at: d.startedAt,
        // A failed deployment's duration says how soon it failed, not how slow it was.
        relative: !isFailure(d) && d.durationMs && usual > 0 ? d.durationMs / usual : null,
        failed: isFailure(d),
        kind: 'deployment',
      });
  }
  const ok = heavy.filter((r) => r.status === 'success' && r.durationMs);
  const usual = ok.length ? median(ok.map((r) => r.durationMs!)) : 0;
  for (const r of heavy)
    out.push({
      at: r.startedAt,
      relative: r.status === 'success' && r.durationMs && usual > 0 ? r.durationMs / usual : null,
      failed: r.status === 'failed',
      kind: 'heavy-run',
    });
  return out;
}

function stats(h: number, xs: readonly Sample[]): HourStats {
  const rel = xs.map((x) => x.relative).filter((x): x is number => x !== null);
  const failures = xs.filter((x) => x.failed).length;
  return {
    hourOfWeek: h,
    label: label(h),
    samples: xs.length,
    deployments: xs.filter((x) => x.kind === 'deployment').length,
    heavyRuns: xs.filter((x) => x.kind === 'heavy-run').length,
    failures,
    failureRate: xs.length ? failures / xs.length : 0,
    slowdown: rel.length ? median(rel) : null,
  };
}

/** Worse first: more failures (smoothed, so 1 of 3 is not worse than 10 of 30), then slower. */
function badness(s: Pick<HourStats, 'failures' | 'samples' | 'slowdown'>): [number, number] {
  return [(s.failures + 1) / (s.samples + 2), s.slowdown ?? 1];
}

/** The advice from deployments and runs (any order). */
export function windowAdvice(deployments: readonly Deployment[], runs: readonly RunRecord[]): WindowAdvice {
  const heavy = heavyRuns(runs);
  const samples = samplesOf(deployments, heavy.runs);
  const byHour = new Map<number, Sample[]>();
  for (const s of samples) {
    const h = hourOfWeek(s.at);
    byHour.set(h, [...(byHour.get(h) ?? []), s]);
  }
  const hours = [...byHour].sort((a, b) => a[0] - b[0]).map(([h, xs]) => stats(h, xs));
  const cmp = (a: [number, number], b: [number, number]) => b[0] - a[0] || b[1] - a[1];
  const worst = hours
    .filter((h) => h.samples >= MIN_HOUR_SAMPLES)
    .sort((a, b) => cmp(badness(a), badness(b)))
    .slice(0, 3);

  const blocks: { start: number; s: HourStats }[] = [];
  for (let start = 0; start < 168; start++) {
    const xs: Sample[] = [];
    for (let k = 0; k < BLOCK_HOURS; k++) xs.push(...(byHour.get((start + k) % 168) ?? []));
    if (xs.length >= MIN_BLOCK_SAMPLES) blocks.push({ start, s: stats(start, xs) });
  }
  const base = {
    deployments: samples.filter((s) => s.kind === 'deployment').length,
    heavyRuns: heavy.runs.length,
    heavyRule: heavy.rule,
    hours,
    worst,
  };
  // Overlapping blocks share samples; count the distinct stretches of history behind them.
  const distinct = new Set(blocks.map((b) => Math.floor(b.start / BLOCK_HOURS))).size;
  if (distinct < MIN_BLOCKS)
    return {
      ...base,
      recommended: null,
      note: `too few samples to recommend a window: ${samples.length} in ${hours.length} hour${hours.length === 1 ? '' : 's'} of the week; a recommendation compares at least ${MIN_BLOCKS} ${BLOCK_HOURS}-hour blocks of ${MIN_BLOCK_SAMPLES}+ deployments or heavy runs each`,
    };
  const best = blocks.sort((a, b) => -cmp(badness(a.s), badness(b.s)) || a.start - b.start)[0]!;
  const day = DAYS[Math.floor(best.start / 24)]!;
  const from = best.start % 24;
  const to = (from + BLOCK_HOURS) % 24;
  return {
    ...base,
    recommended: {
      window: `${day} ${String(from).padStart(2, '0')}:00-${String(to).padStart(2, '0')}:00 UTC`,
      samples: best.s.samples,
      failureRate: best.s.failureRate,
      slowdown: best.s.slowdown,
    },
    note: null,
  };
}
