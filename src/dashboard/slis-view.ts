/**
 * The SLIs page: every SLI with its error budget left (src/analyze/slis.ts), and for the two
 * event SLIs the brief names (availability from deploy health checks, pipeline success) the
 * budget left and the burn rate through the SLO period, sampled every 6 hours. The chart uses
 * prefix sums over the sorted events; its values are the ones errorBudget() and burnRate() give.
 */
import type { SliEvent } from '../analyze/burn-rate.js';
import { evaluateSlis, type SliResult, sliTargets } from '../analyze/slis.js';
import type { Pipeline } from '../config/types.js';
import type { Store } from '../store/store.js';
import { withHealth } from './overview.js';

const HOUR = 3_600_000;
const STEP_MS = 6 * HOUR;
/** The burn windows drawn: the workbook's slow (3 days) and fast (1 hour) long windows. */
const BURN_WINDOWS = [
  { name: '1h', ms: HOUR },
  { name: '3d', ms: 72 * HOUR },
] as const;

export interface BurnPoint {
  at: number;
  /** Fraction of the error budget left over the period ending here (1 with no events). */
  remaining: number;
  /** Burn rate per window (1h, 3d): bad ratio / allowed bad ratio. */
  burn: number[];
  events: number;
}

export interface SliChart {
  name: 'availability' | 'pipelineSuccessRate';
  objective: number;
  source: string;
  points: BurnPoint[];
}

export interface SlisView {
  pipeline: string;
  periodMs: number;
  generatedAt: number;
  slis: SliResult[];
  windows: string[];
  charts: SliChart[];
}

/** Counts of events and bad events at or before each event (sorted by time). */
class EventIndex {
  readonly #at: number[];
  readonly #bad: number[];
  constructor(events: readonly SliEvent[]) {
    const sorted = [...events].sort((a, b) => a.at - b.at);
    this.#at = sorted.map((e) => e.at);
    this.#bad = [];
    let bad = 0;
    for (const e of sorted) this.#bad.push(e.good ? bad : ++bad);
  }
  /** Number of events with at <= t. */
  #upTo(t: number): number {
    let lo = 0;
    let hi = this.#at.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#at[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  /** Events and bad events in (from, to]. */
  count(from: number, to: number): { total: number; bad: number } {
    const a = this.#upTo(from);
    const b = this.#upTo(to);
    const badAt = (n: number) => (n ? this.#bad[n - 1]! : 0);
    return { total: b - a, bad: badAt(b) - badAt(a) };
  }
}

function chart(
  name: SliChart['name'],
  events: readonly SliEvent[],
  objective: number,
  source: string,
  o: { periodMs: number; now: number },
): SliChart {
  const idx = new EventIndex(events);
  const allowed = 1 - objective;
  const points: BurnPoint[] = [];
  const first = o.now - o.periodMs;
  for (let at = first + STEP_MS; at <= o.now + 1; at += STEP_MS) {
    const t = Math.min(at, o.now);
    const period = idx.count(t - o.periodMs, t);
    const allowedBad = allowed * period.total;
    const remaining =
      period.total === 0 ? 1 : allowedBad === 0 ? (period.bad ? -1 : 1) : 1 - period.bad / allowedBad;
    const burn = BURN_WINDOWS.map((w) => {
      const c = idx.count(t - w.ms, t);
      if (!c.total) return 0;
      return allowed <= 0 ? (c.bad ? Number.MAX_VALUE : 0) : c.bad / c.total / allowed;
    });
    points.push({ at: t, remaining: Math.max(-1, remaining), burn, events: period.total });
  }
  return { name, objective, source, points };
}

export async function slisView(
  store: Store,
  o: { pipeline: string; config?: Pipeline; now: number },
): Promise<SlisView> {
  const config = o.config?.name === o.pipeline ? o.config : undefined;
  const targets = sliTargets(config?.raw.slis);
  const { now } = o;
  // Twice the period: the first chart point looks back one full period.
  const from = now - 2 * targets.periodMs;
  const [runs, rows, health] = await Promise.all([
    store.dashboard.runsInWindow({ pipeline: o.pipeline, from, to: now + 1 }),
    store.dashboard.deploymentsInWindow({ from, to: now + 1 }),
    store.dashboard.deploymentHealth({ from, to: now + 1 }),
  ]);
  const deployments = withHealth(rows, health);
  const sliRuns = runs.map((r) => ({
    status: r.status,
    startedAt: r.started_at,
    ...(r.ended_at !== null ? { endedAt: r.ended_at } : {}),
  }));
  const slis = evaluateSlis({ runs: sliRuns, deployments, now }, targets);
  const at = (x: { startedAt: number; endedAt?: number }) => x.endedAt ?? x.startedAt;
  // The same events evaluateSlis counts, over the longer span the chart needs.
  const availability: SliEvent[] = deployments.flatMap((d) => [
    ...Array.from({ length: d.healthOk ?? 0 }, () => ({ at: at(d), good: true })),
    ...Array.from({ length: d.healthFailed ?? 0 }, () => ({ at: at(d), good: false })),
  ]);
  const pipelineRuns: SliEvent[] = sliRuns
    .filter((r) => r.status === 'success' || r.status === 'failed' || r.status === 'interrupted')
    .map((r) => ({ at: at(r), good: r.status === 'success' }));
  const sourceOf = (n: string) => slis.find((s) => s.name === n)?.source ?? '';
  const opts = { periodMs: targets.periodMs, now };
  return {
    pipeline: o.pipeline,
    periodMs: targets.periodMs,
    generatedAt: now,
    slis,
    windows: BURN_WINDOWS.map((w) => w.name),
    charts: [
      chart('availability', availability, targets.availability, sourceOf('availability'), opts),
      chart(
        'pipelineSuccessRate',
        pipelineRuns,
        targets.pipelineSuccessRate,
        sourceOf('pipelineSuccessRate'),
        opts,
      ),
    ],
  };
}
