/**
 * Growth: the trend of runs per day and CPU-seconds per run over the history (least squares with
 * a t-test on the slope), projected 30 and 90 days out, and turned into the pool a run needs to
 * keep today's makespan and the number of such workers that keeps them at a target utilization,
 * with a monthly cost. A history too short for a horizon gets no projection for it: a horizon is
 * projected only up to twice the span of history behind it, and a slope that is not significant
 * is projected flat.
 */
import type { RunRecord } from './history.js';
import { median } from './stats.js';
import { tTwoSidedP } from './student-t.js';

const DAY = 86_400_000;
const HOURS_PER_MONTH = 730;
/** History needed before any trend is fitted. */
const MIN_SPAN_DAYS = 14;
const MIN_ACTIVE_DAYS = 7;
const HORIZONS = [30, 90] as const;

export interface Trend {
  /** Value now (the fitted line, or the recent mean when the slope is not significant). */
  current: number;
  /** False when the history is too short for a fit: `current` is then a plain average. */
  fitted: boolean;
  slopePerDay: number;
  pValue: number;
  significant: boolean;
  samples: number;
}

export interface CapacityNeed {
  horizonDays: 0 | 30 | 90;
  runsPerDay: number;
  cpuSecondsPerRun: number;
  /** CPUs one run needs to keep today's makespan (work assumed to grow evenly across tasks). */
  cpusPerRun: number;
  /** Pools of that size running side by side, so runs keep the target utilization. */
  workers: number;
  cpus: number;
  /** Share of those workers' time runs would occupy. */
  utilization: number;
  /** cpus × 730 h × price; absent without a price. */
  costPerMonth?: number;
  /** CPU-hours actually used per month × price. */
  usedCostPerMonth?: number;
}

export interface GrowthReport {
  runs: number;
  spanDays: number;
  activeDays: number;
  targetUtilization: number;
  /** Median wall time of recent successful runs, and the pool they ran on. */
  makespanMs: number | null;
  poolCpus: number | null;
  runsPerDay: Trend | null;
  cpuSecondsPerRun: Trend | null;
  /** Today's need first, then each horizon the history can support. */
  needs: CapacityNeed[];
  /** What the history cannot support, said plainly. */
  notes: string[];
}

interface Fit {
  slope: number;
  intercept: number;
  p: number;
}

/** Least squares y = a + b·x with the two-sided p-value of b (1 when undefined). */
export function linearFit(xs: readonly number[], ys: readonly number[]): Fit {
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  if (n < 3 || sxx === 0) return { slope: 0, intercept: my, p: 1 };
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i]! - intercept - slope * xs[i]!) ** 2;
  const se = Math.sqrt(sse / (n - 2) / sxx);
  const p = se === 0 ? (slope === 0 ? 1 : 0) : tTwoSidedP(slope / se, n - 2);
  return { slope, intercept, p };
}

/** A trend at day `now` from points (day, value); flat at the recent mean when not significant. */
function trend(days: readonly number[], values: readonly number[], now: number): Trend {
  const f = linearFit(days, values);
  const significant = f.p < 0.05;
  const recent = values.slice(-Math.max(7, Math.ceil(values.length / 4)));
  return {
    fitted: true,
    current: significant
      ? Math.max(0, f.intercept + f.slope * now)
      : recent.reduce((s, v) => s + v, 0) / recent.length,
    slopePerDay: significant ? f.slope : 0,
    pValue: f.p,
    significant,
    samples: values.length,
  };
}

const at = (t: Trend, days: number) => Math.max(0, t.current + t.slopePerDay * days);

/** The growth section from runs (oldest first). */
export function growthReport(
  runs: readonly RunRecord[],
  opts: { now: number; targetUtilization?: number; costPerCpuHour?: number },
): GrowthReport {
  const u = opts.targetUtilization ?? 0.7;
  const finished = runs.filter((r) => r.status !== 'running');
  const first = finished[0]?.startedAt;
  const spanDays = first === undefined ? 0 : (opts.now - first) / DAY;
  const dayOf = (t: number) => Math.floor((t - first!) / DAY);
  const perDay = new Map<number, number>();
  for (const r of finished) perDay.set(dayOf(r.startedAt), (perDay.get(dayOf(r.startedAt)) ?? 0) + 1);
  const ok = finished.filter((r) => r.status === 'success');
  const recentOk = ok.slice(-20);
  const makespanMs = recentOk.length ? median(recentOk.map((r) => r.durationMs ?? 0)) : null;
  const poolCpus = finished.at(-1)?.capacityCpu ?? null;
  const measured = ok.filter((r) => r.tasks.some((t) => t.cpuSeconds !== null));
  const cpuOf = (r: RunRecord) => r.tasks.reduce((s, t) => s + (t.cpuSeconds ?? 0), 0);
  const notes: string[] = [];
  const base = {
    runs: finished.length,
    spanDays,
    activeDays: perDay.size,
    targetUtilization: u,
    makespanMs,
    poolCpus,
  };

  let runsPerDay: Trend | null = null;
  let cpuPerRun: Trend | null = null;
  const enough = spanDays >= MIN_SPAN_DAYS && perDay.size >= MIN_ACTIVE_DAYS;
  if (!enough) {
    notes.push(
      `${finished.length} run${finished.length === 1 ? '' : 's'} over ${spanDays < 1 ? 'less than a day' : `${spanDays.toFixed(1)} days`} (${perDay.size} day${perDay.size === 1 ? '' : 's'} with runs): too little history for a trend; projections need ${MIN_SPAN_DAYS}+ days with runs on ${MIN_ACTIVE_DAYS}+ of them`,
    );
  } else {
    // Whole days only: today is still filling up.
    const whole = Math.floor(spanDays);
    const days = Array.from({ length: whole }, (_, d) => d);
    runsPerDay = trend(
      days,
      days.map((d) => perDay.get(d) ?? 0),
      spanDays,
    );
    if (measured.length >= 10)
      cpuPerRun = trend(
        measured.map((r) => (r.startedAt - first!) / DAY),
        measured.map(cpuOf),
        spanDays,
      );
    else notes.push(`${measured.length} runs with CPU measured: too few for a CPU-seconds trend (needs 10)`);
  }
  if (!runsPerDay && spanDays >= 1) {
    // No trend, but a rate today is still a fact.
    runsPerDay = {
      fitted: false,
      current: finished.length / spanDays,
      slopePerDay: 0,
      pValue: 1,
      significant: false,
      samples: perDay.size,
    };
  }
  if (!cpuPerRun && measured.length) {
    const xs = measured.slice(-20).map(cpuOf);
    cpuPerRun = {
      fitted: false,
      current: median(xs),
      slopePerDay: 0,
      pValue: 1,
      significant: false,
      samples: xs.length,
    };
  }

  const needs: CapacityNeed[] = [];
  if (runsPerDay && cpuPerRun && makespanMs && poolCpus) {
    const c0 = cpuPerRun.current;
    const need = (horizonDays: 0 | 30 | 90): CapacityNeed => {
      const rpd = at(runsPerDay!, horizonDays);
      const cpr = at(cpuPerRun!, horizonDays);
      const cpusPerRun = Math.max(1, Math.ceil(poolCpus * (c0 > 0 ? cpr / c0 : 1) - 1e-9));
      // A worker is busy for one makespan per run: occupancy in workers, over the target.
      const occupancy = (rpd * makespanMs) / DAY;
      const workers = Math.max(1, Math.ceil(occupancy / u - 1e-9));
      const n: CapacityNeed = {
        horizonDays,
        runsPerDay: rpd,
        cpuSecondsPerRun: cpr,
        cpusPerRun,
        workers,
        cpus: workers * cpusPerRun,
        utilization: occupancy / workers,
      };
      if (opts.costPerCpuHour !== undefined) {
        n.costPerMonth = n.cpus * HOURS_PER_MONTH * opts.costPerCpuHour;
        n.usedCostPerMonth = ((rpd * cpr) / 3600) * (HOURS_PER_MONTH / 24) * opts.costPerCpuHour;
      }
      return n;
    };
    needs.push(need(0));
    for (const h of HORIZONS) {
      if (enough && spanDays * 2 >= h) needs.push(need(h));
      else if (enough)
        notes.push(`no ${h}-day projection: it needs ${h / 2}+ days of history (has ${spanDays.toFixed(0)})`);
    }
    if (enough && !runsPerDay.significant && !cpuPerRun.significant)
      notes.push('no significant trend in runs per day or CPU-seconds per run: projected flat');
  } else if (!finished.length) notes.push('no runs recorded yet');
  else if (!makespanMs || !poolCpus) notes.push('no successful run to take the makespan from');
  return { ...base, runsPerDay, cpuSecondsPerRun: cpuPerRun, needs, notes };
}
