/**
 * Application validation over history: per environment, the start-up time, resident memory and
 * CPU the agents measured after each deploy (the median over its targets), the newest against
 * the deploys before it, and change points on each series with the same detector as run
 * durations (change-points.ts). Too few deploys for a change point are said to be too few.
 */
import type { AppValidationsTable } from '../store/app-validations.js';
import { detectChangePoints } from './change-points.js';
import { median } from './stats.js';

export type AppMetric = 'startupMs' | 'rssBytes' | 'cpuCores';
const METRICS: readonly AppMetric[] = ['startupMs', 'rssBytes', 'cpuCores'];
const COLUMN = { startupMs: 'startup_ms', rssBytes: 'rss_bytes', cpuCores: 'cpu_cores' } as const;
/** Deploys a series needs before change points are looked for. */
const MIN_DEPLOYS = 6;
const BASELINE = 10;
const NEGLIGIBLE: Record<AppMetric, number> = { startupMs: 1, rssBytes: 1024 * 1024, cpuCores: 0.05 };

export interface AppDeploy {
  deploymentId: string;
  release: string;
  measuredAt: string;
  targets: number;
  startupMs: number | null;
  rssBytes: number | null;
  cpuCores: number | null;
  problems: string[];
}

export interface AppMetricTrend {
  metric: AppMetric;
  samples: number;
  latest: number | null;
  /** Median of up to 10 deploys before the newest. */
  baseline: number | null;
  /** latest / baseline − 1. */
  change: number | null;
  changePoints: {
    deploymentId: string;
    release: string;
    before: number;
    after: number;
    change: number;
    pValue: number;
  }[];
}

export interface AppEnvironment {
  environment: string;
  deploys: AppDeploy[];
  metrics: AppMetricTrend[];
  /** Set when there are too few deploys for change points. */
  note: string | null;
}

/** Groups measurements by environment and deployment (oldest first) and analyses each series. */
export function appValidationReport(rows: readonly AppValidationsTable[]): AppEnvironment[] {
  const byEnv = new Map<string, Map<string, AppValidationsTable[]>>();
  for (const r of rows) {
    const env = byEnv.get(r.environment) ?? new Map<string, AppValidationsTable[]>();
    env.set(r.deployment_id, [...(env.get(r.deployment_id) ?? []), r]);
    byEnv.set(r.environment, env);
  }
  return [...byEnv]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([environment, deployments]) => {
      const deploys = [...deployments.values()]
        .map((targets): AppDeploy => {
          const pick = (m: AppMetric) => {
            const xs = targets.map((t) => t[COLUMN[m]]).filter((x): x is number => x !== null);
            return xs.length ? median(xs) : null;
          };
          const first = targets[0]!;
          return {
            deploymentId: first.deployment_id,
            release: first.release,
            measuredAt: new Date(Math.min(...targets.map((t) => t.measured_at))).toISOString(),
            targets: targets.length,
            startupMs: pick('startupMs'),
            rssBytes: pick('rssBytes'),
            cpuCores: pick('cpuCores'),
            problems: targets.filter((t) => t.problem).map((t) => `${t.target}: ${t.problem}`),
          };
        })
        .sort((a, b) => a.measuredAt.localeCompare(b.measuredAt));
      const metrics = METRICS.map((metric) => trendOf(deploys, metric)).filter((m) => m.samples > 0);
      const most = Math.max(0, ...metrics.map((m) => m.samples));
      return {
        environment,
        deploys,
        metrics,
        note:
          most < MIN_DEPLOYS
            ? `${most} measured deploy${most === 1 ? '' : 's'}: too few for change points (needs ${MIN_DEPLOYS})`
            : null,
      };
    });
}

function trendOf(deploys: readonly AppDeploy[], metric: AppMetric): AppMetricTrend {
  const points = deploys.filter((d) => d[metric] !== null);
  const values = points.map((d) => d[metric]!);
  const latest = values.at(-1) ?? null;
  const before = values.slice(-1 - BASELINE, -1);
  const baseline = before.length ? median(before) : null;
  const cps = values.length >= MIN_DEPLOYS ? detectChangePoints(values) : [];
  return {
    metric,
    samples: values.length,
    latest,
    baseline,
    // A change against a value near nothing (an idle app's CPU) is noise, not a percentage.
    change:
      latest !== null && baseline !== null && baseline > NEGLIGIBLE[metric] ? latest / baseline - 1 : null,
    changePoints: cps.map((c) => ({
      deploymentId: points[c.index]!.deploymentId,
      release: points[c.index]!.release,
      before: c.meanBefore,
      after: c.meanAfter,
      change: c.change,
      pValue: c.pValue,
    })),
  };
}
