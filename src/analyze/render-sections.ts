/**
 * The report sections of issue 13's items 9-12 (resources, app validation, deploy windows,
 * growth) as plain lines: the terminal form shows them as they are, the Markdown form inside a
 * fenced block. Each section says how many samples it stands on and stays quiet where the
 * history cannot support a claim.
 */
import { autoscalingLines } from '../scale/hpa-replay-text.js';
import { formatBytes } from '../util/units.js';
import type { AppEnvironment, AppMetric } from './app-validation.js';
import { MIN_HOUR_SAMPLES, type WindowAdvice } from './deploy-windows.js';
import { ms, pct, pValue, signedPct, table } from './format.js';
import type { GrowthReport, Trend } from './growth.js';
import type { AnalyticsReport } from './report.js';
import type { ResourceReport } from './resources.js';

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const rate = (b: number | null) => (b === null ? '-' : `${formatBytes(b)}/s`);

/** Disk I/O per task, pool memory, network bytes and transfer rate per deployment. */
function resourceSection(r: ResourceReport): string[] {
  const out = ['', 'Disk I/O per task (median per execution, whole process tree; storage bytes, then calls)'];
  if (!r.io.tasks.length) out.push('  no measurements yet (Linux /proc/<pid>/io; cache hits run nothing)');
  else {
    const rows = [['', 'read', 'written', 'read calls', 'write calls', 'runs']];
    for (const t of r.io.tasks.slice(0, 8))
      rows.push([
        t.id,
        formatBytes(t.readBytes),
        formatBytes(t.writeBytes),
        count(t.readOps),
        count(t.writeOps),
        String(t.executions),
      ]);
    out.push(...table(rows));
    if (r.io.tasks.length > 8) out.push(`  … ${r.io.tasks.length - 8} more tasks in --json`);
  }
  const m = r.poolMemory;
  out.push(
    '',
    m?.latest
      ? `Pool memory  latest run peak ${formatBytes(m.latest.peakBytes)} of ${formatBytes(m.latest.capacityBytes)} (${pct(m.latest.peak)}), mean ${pct(m.latest.mean)} · over ${m.runs} run${m.runs === 1 ? '' : 's'}: peak ${pct(m.peak)}, mean ${pct(m.mean)} (upper bound: tasks counted at their peak RSS)`
      : 'Pool memory  not measured yet (runs recorded before the pool size was kept, or no task ran)',
  );
  return [...out, ...transferSection(r)];
}

/** Network bytes and transfer rate per deployment (nothing without deployments). */
function transferSection(r: ResourceReport): string[] {
  const out: string[] = [];
  const d = r.deployments;
  if (d.count) {
    out.push(
      '',
      `Deployment transfer (${d.count} deployment${d.count === 1 ? '' : 's'}; median ${d.networkBytesP50 === null ? '-' : formatBytes(d.networkBytesP50)} on the wire at ${rate(d.transferRateP50)})`,
    );
    const rows = [['', 'artifact', 'network', 'origin', 'targets', 'staging', 'wire rate', 'effective']];
    for (const x of d.recent.slice(-5))
      rows.push([
        x.id,
        formatBytes(x.artifactBytes),
        formatBytes(x.networkBytes),
        formatBytes(x.originEgressBytes),
        String(x.targets),
        x.stagingMs === null ? '-' : `${(x.stagingMs / 1000).toFixed(2)}s`,
        rate(x.transferRate),
        rate(x.effectiveRate),
      ]);
    out.push(...table(rows));
  }
  return out;
}

/** Hours of the week that went worst, and the recommended window (or why there is none). */
function windowSection(w: WindowAdvice): string[] {
  const out = [
    '',
    `Deploy windows (UTC; ${w.deployments} deployment${w.deployments === 1 ? '' : 's'}, ${w.heavyRuns} heavy run${w.heavyRuns === 1 ? '' : 's'}: ${w.heavyRule})`,
  ];
  if (w.worst.length > 1) {
    const rows = [['worst hours', 'samples', 'failed', 'vs usual']];
    for (const h of w.worst)
      rows.push([
        h.label,
        String(h.samples),
        pct(h.failureRate, 0),
        h.slowdown === null ? '-' : `×${h.slowdown.toFixed(2)}`,
      ]);
    out.push(...table(rows));
  } else if (w.worst.length === 1)
    out.push(
      `  only ${w.worst[0]!.label} has ${MIN_HOUR_SAMPLES}+ samples: no other hour to compare it with (all hours in --json)`,
    );
  else if (w.hours.length)
    out.push(
      `  no hour has ${MIN_HOUR_SAMPLES}+ samples yet (${w.hours.length} hour${w.hours.length === 1 ? '' : 's'} seen; all in --json)`,
    );
  out.push(
    w.recommended
      ? `  recommended window: "${w.recommended.window}" (${w.recommended.samples} samples, ${pct(w.recommended.failureRate, 0)} failed, ${w.recommended.slowdown === null ? '-' : `×${w.recommended.slowdown.toFixed(2)}`} of usual duration)`
      : `  no recommendation: ${w.note}`,
  );
  return out;
}

const money = (x: number | undefined) => (x === undefined ? '' : x >= 100 ? x.toFixed(0) : x.toFixed(2));

function trendLine(name: string, t: Trend | null, unit: string): string {
  if (!t) return `  ${name}: -`;
  if (!t.fitted)
    return `  ${name}: ${t.current.toFixed(2)}${unit} (${t.samples} sample${t.samples === 1 ? '' : 's'}; no trend fitted)`;
  const slope = t.significant
    ? `${t.slopePerDay >= 0 ? '+' : ''}${t.slopePerDay.toPrecision(2)}${unit}/day (p=${t.pValue.toPrecision(2)})`
    : `no significant trend${t.pValue < 1 ? ` (p=${t.pValue.toPrecision(2)})` : ''}`;
  return `  ${name}: ${t.current.toFixed(2)}${unit} now, ${slope}; ${t.samples} samples`;
}

/** Runs per day and CPU-seconds per run, and the capacity they will need. */
function growthSection(g: GrowthReport): string[] {
  const out = [
    '',
    `Growth (${g.runs} run${g.runs === 1 ? '' : 's'} over ${g.spanDays < 1 ? 'less than a day' : `${g.spanDays.toFixed(1)} days`}; target utilization ${pct(g.targetUtilization, 0)})`,
  ];
  out.push(
    trendLine('runs per day', g.runsPerDay, ''),
    trendLine('CPU-seconds per run', g.cpuSecondsPerRun, 's'),
  );
  if (g.needs.length) {
    const priced = g.needs.some((n) => n.costPerMonth !== undefined);
    const rows = [
      [
        '',
        'runs/day',
        'CPU-s/run',
        'cpus/run',
        'workers',
        'cpus',
        'busy',
        ...(priced ? ['pool/month', 'used/month'] : []),
      ],
    ];
    for (const n of g.needs)
      rows.push([
        n.horizonDays ? `in ${n.horizonDays} days` : 'now',
        n.runsPerDay.toFixed(1),
        n.cpuSecondsPerRun.toFixed(1),
        String(n.cpusPerRun),
        String(n.workers),
        String(n.cpus),
        pct(n.utilization, 0),
        ...(priced ? [money(n.costPerMonth), money(n.usedCostPerMonth)] : []),
      ]);
    out.push(...table(rows));
    out.push(
      `  keeps today's makespan (${g.makespanMs === null ? '-' : `${(g.makespanMs / 1000).toFixed(1)}s`} on ${g.poolCpus} cpus) with work growing evenly across tasks`,
    );
  }
  for (const n of g.notes) out.push(`  note: ${n}`);
  return out;
}

const APP_LABEL: Record<AppMetric, string> = {
  startupMs: 'start-up',
  rssBytes: 'memory',
  cpuCores: 'CPU cores',
};
const appValue = (m: AppMetric, v: number | null) =>
  v === null ? '-' : m === 'startupMs' ? ms(v) : m === 'rssBytes' ? formatBytes(v) : v.toFixed(2);

/** What the agents measured of the app after each deploy, per environment. */
function appSection(envs: readonly AppEnvironment[]): string[] {
  if (!envs.length) return [];
  const out = [
    '',
    'App after deploy (median over targets; agents measure start-up to first healthy answer, then memory and CPU after settling)',
  ];
  for (const e of envs) {
    const last = e.deploys.at(-1);
    out.push(
      `  ${e.environment}: ${e.deploys.length} deploy${e.deploys.length === 1 ? '' : 's'} measured${last ? `, newest ${last.deploymentId} (${last.release})` : ''}`,
    );
    const rows = [['', 'newest', 'before', 'change', 'deploys']];
    for (const m of e.metrics)
      rows.push([
        APP_LABEL[m.metric],
        appValue(m.metric, m.latest),
        appValue(m.metric, m.baseline),
        m.change === null ? '-' : signedPct(m.change),
        String(m.samples),
      ]);
    out.push(...table(rows, '    '));
    for (const m of e.metrics)
      for (const c of m.changePoints)
        out.push(
          `    change point: ${APP_LABEL[m.metric]} ${signedPct(c.change)} from ${c.deploymentId} (${c.release}), ${appValue(m.metric, c.before)} → ${appValue(m.metric, c.after)}, p=${pValue(c.pValue)}`,
        );
    for (const p of last?.problems ?? []) out.push(`    not measured: ${p}`);
    if (e.note) out.push(`    note: ${e.note}`);
  }
  return out;
}

/** The sections that stand on deployments alone, for a history with deployments but no runs. */
export function deploySections(r: AnalyticsReport): string[] {
  return [...transferSection(r.resources), ...appSection(r.appValidation)];
}

/** Every section of items 9-12, in report order. */
export function extraSections(r: AnalyticsReport): string[] {
  return [
    ...resourceSection(r.resources),
    ...appSection(r.appValidation),
    ...windowSection(r.windows),
    ...growthSection(r.growth),
    ...autoscalingLines(r.autoscaling),
  ];
}
