/**
 * The deploy-windows page: for every hour of the week (UTC) the samples, failure rate and
 * slowdown of deployments and heavy runs (src/analyze/deploy-windows.ts, the analysis
 * `slipway report` prints), all 168 hours including empty ones, and the recommended window.
 */
import {
  type HourStats,
  MIN_HOUR_SAMPLES,
  type WindowAdvice,
  windowAdvice,
} from '../analyze/deploy-windows.js';
import type { Store } from '../store/store.js';
import { runRecordsOf } from './history-lite.js';
import { withHealth } from './overview.js';

const DAY = 86_400_000;
/** History the heatmap reads. */
const WINDOW_DAYS = 90;
const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export interface WindowsView extends Omit<WindowAdvice, 'hours'> {
  pipeline: string;
  generatedAt: number;
  days: number;
  minHourSamples: number;
  /** Exactly 168 hours, Monday 00:00 UTC first; hours without samples have samples 0. */
  hours: HourStats[];
}

export async function windowsView(store: Store, o: { pipeline: string; now: number }): Promise<WindowsView> {
  const from = o.now - WINDOW_DAYS * DAY;
  const [runs, deployments] = await Promise.all([
    store.dashboard.runCpuTotals({ pipeline: o.pipeline, from }),
    store.dashboard.deploymentsInWindow({ from, to: o.now + 1 }),
  ]);
  const advice = windowAdvice(withHealth(deployments, []), runRecordsOf(o.pipeline, runs));
  const byHour = new Map(advice.hours.map((h) => [h.hourOfWeek, h]));
  const hours = Array.from(
    { length: 168 },
    (_, h): HourStats =>
      byHour.get(h) ?? {
        hourOfWeek: h,
        label: `${DAYS[Math.floor(h / 24)]} ${String(h % 24).padStart(2, '0')}:00`,
        samples: 0,
        deployments: 0,
        heavyRuns: 0,
        failures: 0,
        failureRate: 0,
        slowdown: null,
      },
  );
  return {
    ...advice,
    hours,
    pipeline: o.pipeline,
    generatedAt: o.now,
    days: WINDOW_DAYS,
    minHourSamples: MIN_HOUR_SAMPLES,
  };
}
