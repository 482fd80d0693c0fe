/**
 * DORA's four keys with the performance clusters of the 2023 Accelerate State of DevOps report
 * (elite: on demand / < 1 day / 5% / < 1 hour; high: daily–weekly / 1 day–1 week / 10% / < 1 day;
 * medium: weekly–monthly / 1 week–1 month / 15% / 1 day–1 week; low: below those). Boundaries
 * between adjacent clusters are taken at the edges of those ranges.
 */
import { type Deployment, isChange, isFailure, isFinished } from './deployments.js';
import { median } from './stats.js';

export type DoraTier = 'elite' | 'high' | 'medium' | 'low';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const MONTH = 30 * DAY;

export interface DoraMetric {
  value: number | null;
  unit: 'per-day' | 'ms' | 'ratio';
  tier: DoraTier | null;
  /** How many observations the value rests on. */
  samples: number;
}

export interface DoraMetrics {
  deploymentFrequency: DoraMetric;
  changeLeadTime: DoraMetric;
  changeFailRate: DoraMetric;
  failedDeploymentRecoveryTime: DoraMetric;
}

/** Tier of a deployment frequency in successful deployments per day. */
export function frequencyTier(perDay: number): DoraTier {
  if (perDay >= 1) return 'elite';
  if (perDay >= 1 / 7) return 'high';
  if (perDay >= 1 / 30) return 'medium';
  return 'low';
}

/** Tier of a change lead time. */
export function leadTimeTier(ms: number): DoraTier {
  if (ms < DAY) return 'elite';
  if (ms < WEEK) return 'high';
  if (ms < MONTH) return 'medium';
  return 'low';
}

/** Tier of a change fail rate (0..1). */
export function failRateTier(rate: number): DoraTier {
  if (rate <= 0.05) return 'elite';
  if (rate <= 0.1) return 'high';
  if (rate <= 0.15) return 'medium';
  return 'low';
}

/** Tier of a failed-deployment recovery time. */
export function recoveryTier(ms: number): DoraTier {
  if (ms < HOUR) return 'elite';
  if (ms < DAY) return 'high';
  if (ms < WEEK) return 'medium';
  return 'low';
}

/**
 * Time from each failed deployment to the next successful one (a deploy or a rollback) in the same
 * environment (ms); failures not yet recovered are left out.
 */
export function recoveryTimes(deployments: readonly Deployment[]): number[] {
  const sorted = [...deployments].filter(isFinished).sort((a, b) => a.startedAt - b.startedAt);
  const out: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const d = sorted[i]!;
    // Only the first failure of a streak starts the clock: the outage is one outage.
    if (!isFailure(d)) continue;
    const prev = sorted.slice(0, i).findLast((p) => p.environment === d.environment);
    if (prev && isFailure(prev)) continue;
    const fix = sorted.slice(i + 1).find((n) => n.environment === d.environment && n.status === 'success');
    if (!fix) continue;
    const failedAt = d.endedAt ?? d.startedAt;
    out.push((fix.endedAt ?? fix.startedAt) - failedAt);
  }
  return out;
}

/**
 * The four keys over [from, to]: frequency of successful deployments (rollbacks excluded) per day, median lead time from
 * commit to successful deployment, share of finished deployments that failed, median recovery time.
 */
export function doraMetrics(deployments: readonly Deployment[], from: number, to: number): DoraMetrics {
  const inRange = deployments.filter((d) => d.startedAt >= from && d.startedAt <= to);
  // Rollbacks count only as recoveries: they ship no change.
  const finished = inRange.filter((d) => isFinished(d) && isChange(d));
  const successes = finished.filter((d) => d.status === 'success');
  const days = Math.max(1, (to - from) / DAY);

  const perDay = successes.length / days;
  const leads = successes
    .filter((d) => d.gitCommitAt !== undefined)
    .map((d) => (d.endedAt ?? d.startedAt) - d.gitCommitAt!)
    .filter((ms) => ms >= 0);
  const lead = leads.length ? median(leads) : null;
  const failRate = finished.length ? finished.filter(isFailure).length / finished.length : null;
  const recoveries = recoveryTimes(inRange);
  const recovery = recoveries.length ? median(recoveries) : null;

  return {
    deploymentFrequency: {
      value: finished.length ? perDay : null,
      unit: 'per-day',
      tier: finished.length ? frequencyTier(perDay) : null,
      samples: successes.length,
    },
    changeLeadTime: {
      value: lead,
      unit: 'ms',
      tier: lead === null ? null : leadTimeTier(lead),
      samples: leads.length,
    },
    changeFailRate: {
      value: failRate,
      unit: 'ratio',
      tier: failRate === null ? null : failRateTier(failRate),
      samples: finished.length,
    },
    failedDeploymentRecoveryTime: {
      value: recovery,
      unit: 'ms',
      tier: recovery === null ? null : recoveryTier(recovery),
      samples: recoveries.length,
    },
  };
}
