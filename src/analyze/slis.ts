/**
 * The brief's five SLIs plus the pipeline success rate, with targets (overridable under `slis:`),
 * error budgets for the ratio SLIs and multiwindow burn-rate alerts. Ratio SLIs count good/bad
 * events; threshold SLIs (resource efficiency, recovery time) compare one value to a target and
 * have no budget. Availability is the service's: deploy health checks of the deployed targets,
 * never pipeline runs (a failed build on a laptop is not an outage). Pipeline success is its own
 * SLI whose alerts are tickets at most: nothing pages from a developer's run.
 */
import type * as z from 'zod';
import type { slisSchema } from '../config/schema-analytics.js';
import type { RunStatus } from '../events.js';
import { quantile } from '../util/quantile.js';
import {
  type BurnAlert,
  burnAlerts,
  type ErrorBudget,
  errorBudget,
  type SliEvent,
  SRE_WORKBOOK_RULES,
} from './burn-rate.js';
import { type Deployment, isChange, isFailure, isFinished } from './deployments.js';
import { recoveryTimes } from './dora.js';
import { mean } from './stats.js';

const MIN = 60_000;

export interface SliTargets {
  /** Good fraction, e.g. 0.999. */
  availability: number;
  deploymentDurationP95Ms: number;
  /** Fraction, e.g. 0.8. */
  resourceEfficiency: number;
  /** Fraction, e.g. 0.001. */
  deploymentFailureRate: number;
  recoveryTimeMs: number;
  /** Good fraction of completed pipeline runs, e.g. 0.95. */
  pipelineSuccessRate: number;
  periodMs: number;
}

/** The brief's `DeploymentPerformanceSLIs` defaults and a 30-day SLO period. */
export const DEFAULT_SLI_TARGETS: SliTargets = {
  availability: 0.999,
  deploymentDurationP95Ms: 15 * MIN,
  resourceEfficiency: 0.8,
  deploymentFailureRate: 0.001,
  recoveryTimeMs: 5 * MIN,
  pipelineSuccessRate: 0.95,
  periodMs: 30 * 24 * 60 * MIN,
};

/** Targets from the pipeline's `slis:` section over the defaults. */
export function sliTargets(raw?: z.output<typeof slisSchema>): SliTargets {
  return {
    availability: raw?.availability ?? DEFAULT_SLI_TARGETS.availability,
    deploymentDurationP95Ms: raw?.deploymentDurationP95 ?? DEFAULT_SLI_TARGETS.deploymentDurationP95Ms,
    resourceEfficiency: raw?.resourceEfficiency ?? DEFAULT_SLI_TARGETS.resourceEfficiency,
    deploymentFailureRate: raw?.deploymentFailureRate ?? DEFAULT_SLI_TARGETS.deploymentFailureRate,
    recoveryTimeMs: raw?.recoveryTime ?? DEFAULT_SLI_TARGETS.recoveryTimeMs,
    pipelineSuccessRate: raw?.pipelineSuccessRate ?? DEFAULT_SLI_TARGETS.pipelineSuccessRate,
    periodMs: raw?.period ?? DEFAULT_SLI_TARGETS.periodMs,
  };
}

/** What the SLIs need from a run. */
export interface SliRun {
  status: RunStatus;
  startedAt: number;
  endedAt?: number;
  /** CPU seconds used / (CPU capacity × wall time), when measured. */
  utilization?: number;
}

export type SliName =
  | 'availability'
  | 'deploymentDurationP95'
  | 'resourceEfficiency'
  | 'deploymentFailureRate'
  | 'recoveryTime'
  | 'pipelineSuccessRate';

export interface SliResult {
  name: SliName;
  /** Measured value: a fraction or milliseconds (see unit); null without data. */
  value: number | null;
  target: number;
  unit: 'ratio' | 'ms';
  /** Whether the value meets the target; null without data. */
  met: boolean | null;
  /** What the value was computed from. */
  source: string;
  samples: number;
  /** Ratio SLIs only: the good-event objective, the budget left and the burn-rate alerts. */
  objective?: number;
  budget?: ErrorBudget;
  alerts?: BurnAlert[];
}

/** The workbook's rules with every page turned into a ticket. */
const TICKETS_ONLY = SRE_WORKBOOK_RULES.map((r) => ({ ...r, severity: 'ticket' as const }));

function ratioSli(
  name: SliName,
  events: SliEvent[],
  objective: number,
  opts: { value: number | null; target: number; unit: 'ratio' | 'ms'; met: boolean | null; source: string },
  targets: SliTargets,
  now: number,
  rules = SRE_WORKBOOK_RULES,
): SliResult {
  return {
    name,
    ...opts,
    samples: events.length,
    objective,
    budget: errorBudget(events, objective, targets.periodMs, now),
    // No events, no alerts: an SLI without data cannot be burning.
    alerts: events.length ? burnAlerts(events, objective, now, rules) : [],
  };
}

/** Evaluates the five SLIs over the SLO period ending at `now`. */
export function evaluateSlis(
  input: { runs: readonly SliRun[]; deployments: readonly Deployment[]; now: number },
  targets: SliTargets,
): SliResult[] {
  const { now } = input;
  const since = now - targets.periodMs;
  const runs = input.runs.filter((r) => (r.endedAt ?? r.startedAt) > since && r.startedAt <= now);
  const deployments = input.deployments.filter((d) => d.startedAt > since && d.startedAt <= now);
  const finished = deployments.filter((d) => isFinished(d) && isChange(d));
  const at = (x: { startedAt: number; endedAt?: number }) => x.endedAt ?? x.startedAt;

  // Availability: health samples of deployed targets (the service), never pipeline runs.
  const health = deployments.filter((d) => (d.healthOk ?? 0) + (d.healthFailed ?? 0) > 0);
  const availEvents: SliEvent[] = health.flatMap((d) => [
    ...Array.from({ length: d.healthOk ?? 0 }, () => ({ at: at(d), good: true })),
    ...Array.from({ length: d.healthFailed ?? 0 }, () => ({ at: at(d), good: false })),
  ]);
  const availSource = health.length
    ? 'health checks of deployed targets'
    : 'health checks of deployed targets (none recorded: no deployment by slipway deploy)';
  const availValue = availEvents.length
    ? availEvents.filter((e) => e.good).length / availEvents.length
    : null;

  // Pipeline success: runs that completed (cancelled runs are no one's failure).
  const runEvents = runs
    .filter((r) => r.status === 'success' || r.status === 'failed' || r.status === 'interrupted')
    .map((r) => ({ at: at(r), good: r.status === 'success' }));
  const successValue = runEvents.length ? runEvents.filter((e) => e.good).length / runEvents.length : null;

  const durations = finished.map((d) => d.durationMs ?? (d.endedAt ?? d.startedAt) - d.startedAt);
  const p95 = durations.length ? quantile(durations, 0.95) : null;
  const durationEvents = finished.map((d, i) => ({
    at: at(d),
    good: durations[i]! <= targets.deploymentDurationP95Ms,
  }));

  const utilizations = runs
    .map((r) => r.utilization)
    .filter((u): u is number => u !== undefined && Number.isFinite(u));
  const efficiency = utilizations.length ? mean(utilizations) : null;

  const failEvents = finished.map((d) => ({ at: at(d), good: !isFailure(d) }));
  const failRate = failEvents.length ? failEvents.filter((e) => !e.good).length / failEvents.length : null;

  const recoveries = recoveryTimes(deployments);
  const mttr = recoveries.length ? mean(recoveries) : null;
  const deploySource = deployments.some((d) => d.source === 'deployments')
    ? 'recorded deployments'
    : 'runs with a task tagged deploy';

  return [
    ratioSli(
      'availability',
      availEvents,
      targets.availability,
      {
        value: availValue,
        target: targets.availability,
        unit: 'ratio',
        met: availValue === null ? null : availValue >= targets.availability,
        source: availSource,
      },
      targets,
      now,
    ),
    // "p95 ≤ 15 min" is the same promise as "95% of deployments within 15 min": a 95% objective.
    ratioSli(
      'deploymentDurationP95',
      durationEvents,
      0.95,
      {
        value: p95,
        target: targets.deploymentDurationP95Ms,
        unit: 'ms',
        met: p95 === null ? null : p95 <= targets.deploymentDurationP95Ms,
        source: deploySource,
      },
      targets,
      now,
    ),
    {
      name: 'resourceEfficiency',
      value: efficiency,
      target: targets.resourceEfficiency,
      unit: 'ratio',
      met: efficiency === null ? null : efficiency >= targets.resourceEfficiency,
      source: 'CPU seconds used / (CPU capacity × wall time) per run',
      samples: utilizations.length,
    },
    ratioSli(
      'deploymentFailureRate',
      failEvents,
      1 - targets.deploymentFailureRate,
      {
        value: failRate,
        target: targets.deploymentFailureRate,
        unit: 'ratio',
        met: failRate === null ? null : failRate <= targets.deploymentFailureRate,
        source: deploySource,
      },
      targets,
      now,
    ),
    {
      name: 'recoveryTime',
      value: mttr,
      target: targets.recoveryTimeMs,
      unit: 'ms',
      met: mttr === null ? null : mttr <= targets.recoveryTimeMs,
      source: `mean time from a failed deployment to the next success (${deploySource})`,
      samples: recoveries.length,
    },
    ratioSli(
      'pipelineSuccessRate',
      runEvents,
      targets.pipelineSuccessRate,
      {
        value: successValue,
        target: targets.pipelineSuccessRate,
        unit: 'ratio',
        met: successValue === null ? null : successValue >= targets.pipelineSuccessRate,
        source: 'pipeline runs that completed (alerts are tickets, never pages)',
      },
      targets,
      now,
      TICKETS_ONLY,
    ),
  ];
}
