/**
 * Observations from Slipway's own deploy history: what the agents measured of the app after each
 * activation (start-up to first healthy answer, resident memory, CPU after the settle period),
 * for every workload of the manifests at once (the `*` key of `observedFor`).
 */
import type { AppValidationsTable } from '../../store/app-validations.js';
import { quantile } from '../../util/quantile.js';
import type { Observed } from './observed.js';

/** How many of the newest measurements count: recent releases, not last year's. */
const RECENT = 20;

/** The environment's recent measurements summed up; undefined when there are none. */
export function observedFromDeploys(
  rows: readonly AppValidationsTable[],
  environment: string,
): Observed | undefined {
  const recent = rows
    .filter((r) => r.environment === environment && !r.problem)
    .sort((a, b) => a.measured_at - b.measured_at)
    .slice(-RECENT);
  if (!recent.length) return undefined;
  const numbers = (xs: readonly (number | null)[]) => xs.filter((x): x is number => x !== null);
  const startups = numbers(recent.map((r) => r.startup_ms));
  const rss = numbers(recent.map((r) => r.rss_bytes));
  const cpu = numbers(recent.map((r) => r.cpu_cores));
  const o: Observed = {
    source: `measured on ${recent.length} deploy${recent.length === 1 ? '' : 's'} of ${environment}`,
  };
  if (startups.length) o.startupSeconds = quantile(startups, 0.5) / 1000;
  if (rss.length) o.memoryPeak = Math.max(...rss);
  if (cpu.length) {
    o.cpuP90 = Math.round(quantile(cpu, 0.9) * 1000);
    o.cpuPeak = Math.round(Math.max(...cpu) * 1000);
  }
  return o;
}
