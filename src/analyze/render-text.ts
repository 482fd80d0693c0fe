/** The terminal form of `slipway report`: readable at a glance, details in --json. */
import { VPA_RULE } from '../plan/vpa.js';
import { formatBytes } from '../util/units.js';
import { ENVIRONMENT_SUBJECT, type EnvironmentShift } from './environment.js';
import type { Finding } from './findings-store.js';
import { ms, pct, pValue, SLI_LABELS, signedPct, sliValue, table } from './format.js';
import { deploySections, extraSections } from './render-sections.js';
import type { AnalyticsReport } from './report.js';

/** One line per finding. */
export function findingLine(f: Finding): string {
  if (f.subject === ENVIRONMENT_SUBJECT)
    return `${f.id}  ${f.subject}  the machine got ${signedPct(f.change)} ${f.direction} from run ${f.runId} (the tasks that moved: ${ms(f.meanBefore)} → ${ms(f.meanAfter)} together); tasks are judged against it${f.active ? '' : '  retired'}`;
  const state = f.open
    ? 'OPEN'
    : f.acknowledged
      ? 'acknowledged'
      : !f.active
        ? 'retired'
        : f.persists
          ? ''
          : 'recovered';
  return `${f.id}  ${f.subject}  ${f.direction} ${signedPct(f.change)}  ${ms(f.meanBefore)} → ${ms(f.meanAfter)}  from run ${f.runId}  p=${pValue(f.pValue)}${state ? `  ${state}` : ''}`;
}

/** A machine-wide shift and how each task compares with it. */
export function environmentLines(e: EnvironmentShift): string[] {
  const own = e.tasks.filter((t) => t.own);
  return [
    `  environment: ${e.moved} of ${e.compared} tasks got ${e.direction} together from run ${e.runId} (${signedPct(e.change)}, the median): the machine, not the code`,
    own.length
      ? `    beyond the machine: ${own.map((t) => `${t.subject} ${signedPct(t.beyond)}`).join(', ')}`
      : '    no task moved beyond the machine',
  ];
}

/** Renders the report for a terminal. */
export function renderReportText(r: AnalyticsReport): string {
  const m = r.metrics;
  const out: string[] = [];
  const since = r.window.from ? ` since ${r.window.from.slice(0, 10)}` : '';
  out.push(`Slipway report: ${r.pipeline} — ${r.window.runs} runs${since}`);
  if (r.latestRun)
    out.push(`Latest run ${r.latestRun.id}: ${r.latestRun.status}, ${ms(r.latestRun.durationMs)}`);
  if (!r.window.runs) {
    out.push('', 'No runs recorded yet: run `slipway run` to build a history.', ...deploySections(r));
    return `${out.join('\n')}\n`;
  }

  out.push('', 'Durations');
  const rows = [['', 'p50', 'p95', 'max', 'runs']];
  rows.push([
    'run',
    ms(m.pipelineMetrics.total.p50),
    ms(m.pipelineMetrics.total.p95),
    ms(m.pipelineMetrics.total.max),
    String(m.pipelineMetrics.total.count),
  ]);
  for (const [tag, s] of Object.entries(m.pipelineMetrics.byTag))
    rows.push([`tag ${tag}`, ms(s.p50), ms(s.p95), ms(s.max), String(s.count)]);
  for (const t of r.tasks.slice(0, 8))
    rows.push([`task ${t.id}`, ms(t.p50Ms), ms(t.p95Ms), '', String(t.executions)]);
  out.push(...table(rows));
  if (r.tasks.length > 8) out.push(`  … ${r.tasks.length - 8} more tasks in --json`);

  const rm = m.resourceMetrics;
  const tm = m.throughputMetrics;
  const q = m.qualityMetrics;
  out.push(
    '',
    `Resources   CPU utilization ${pct(rm.cpuUtilization)} · ${rm.cpuSeconds.toFixed(1)} CPU-s · peak memory ${rm.peakMemoryBytes === null ? '-' : formatBytes(rm.peakMemoryBytes)}${rm.networkThroughput === null ? '' : ` · network ${formatBytes(rm.networkThroughput)}/s`}`,
    `Throughput  ${tm.runsPerHour === null ? '-' : tm.runsPerHour.toFixed(2)} runs/h · ${tm.deploymentsPerHour === null ? '-' : tm.deploymentsPerHour.toFixed(2)} deployments/h · parallel efficiency ${pct(tm.parallelExecutionEfficiency)}`,
    `Quality     success ${pct(q.successRate)} · failure ${pct(q.failureRate)} · retries ${pct(q.retryRate)} · regressions ${pct(q.performanceRegressionRate)} of runs${q.rollbackRate === null ? '' : ` · rollbacks ${pct(q.rollbackRate)}`}`,
    `Cache       hit rate ${pct(m.cache.hitRate)} (${m.cache.hits}/${m.cache.hits + m.cache.misses}) · saved ${ms(m.cache.savedMs)} total, ${ms(m.cache.savedPerRunMs)} per run`,
  );

  const shown = r.regressions.findings.filter((f) => f.active);
  const open = shown.filter((f) => f.open && f.subject !== ENVIRONMENT_SUBJECT);
  out.push('', `Regressions (${open.length} open)`);
  const cov = r.regressions.coverage;
  if (!shown.length)
    out.push(
      cov.analysable === 0
        ? `  none detectable yet: a change point needs ${cov.needed} executions of a task (or runs), the most any has is ${cov.mostPoints}`
        : `  none detected (${cov.analysable} of ${cov.series} series have the ${cov.needed} executions a change point needs)`,
    );
  else if (cov.analysable < cov.series)
    out.push(
      `  (${cov.series - cov.analysable} of ${cov.series} series have fewer than ${cov.needed} executions: too few to judge)`,
    );
  for (const f of shown) out.push(`  ${findingLine(f)}`);
  for (const e of r.regressions.environment) out.push(...environmentLines(e));
  for (const s of r.regressions.suspects) {
    out.push(
      `  suspect: ${s.subject} in newest run ${s.runId}: ${ms(s.value)} vs ${ms(s.baselineMean)} (${signedPct(s.change)}, p=${pValue(s.pValue)})`,
    );
  }

  out.push('', 'SLIs (error budget over the SLO period; burn rates 1h/6h/3d)');
  const sliRows = [['', 'value', 'target', '', 'samples', 'budget left', 'burn']];
  for (const s of r.slis) {
    const v = sliValue(s);
    const burn = s.alerts && s.budget?.total ? s.alerts.map((a) => a.longBurn.toFixed(1)).join('/') : '';
    const firing = s.alerts?.filter((a) => a.firing).map((a) => a.severity) ?? [];
    sliRows.push([
      SLI_LABELS[s.name],
      v.value,
      v.target,
      s.met === null ? 'no data' : s.met ? 'ok' : 'MISSED',
      // Under 10 samples a ratio moves by 10% per event: say so rather than let it pass for a trend.
      s.samples ? `${s.samples}${s.samples < 10 ? ' (few)' : ''}` : '',
      s.budget?.total ? pct(s.budget.remaining, 0) : '',
      burn + (firing.length ? ` ${firing[0]!.toUpperCase()}` : ''),
    ]);
  }
  out.push(...table(sliRows));

  const d = r.dora;
  const dl = (label: string, value: string, tier: string | null) =>
    `  ${label.padEnd(32)} ${value.padStart(10)}  ${tier ?? ''}`;
  out.push(
    '',
    `DORA (${d.source === 'none' ? 'no deployments recorded' : d.source === 'run' ? 'deployments = runs with a task tagged deploy' : 'recorded deployments'})`,
  );
  out.push(
    dl(
      'deployment frequency',
      d.deploymentFrequency.value === null ? '-' : `${d.deploymentFrequency.value.toFixed(2)}/day`,
      d.deploymentFrequency.tier,
    ),
    dl('change lead time (median)', ms(d.changeLeadTime.value), d.changeLeadTime.tier),
    dl('change fail rate', pct(d.changeFailRate.value), d.changeFailRate.tier),
    dl(
      'failed deployment recovery time',
      ms(d.failedDeploymentRecoveryTime.value),
      d.failedDeploymentRecoveryTime.tier,
    ),
  );

  out.push('', 'Recommendations (by time saved per run)');
  if (!r.recommendations.length) out.push('  none: the simulator finds nothing worth changing');
  r.recommendations.forEach((rec, i) => {
    out.push(
      `  ${i + 1}. ${rec.title}: saves ${ms(rec.savedMsPerRun)} per run (${ms(rec.baselineMs)} → ${ms(rec.predictedMs)})`,
    );
    for (const e of rec.evidence) out.push(`       · ${e}`);
    out.push(`       risk: ${rec.risk}`, `       change: ${rec.change}`);
  });

  const sized = r.rightSizing.filter((s) => s.cpu || s.memory);
  if (sized.length) {
    out.push('', `Right-sizing (${VPA_RULE})`);
    const rsRows = [['', 'cpu', 'memory', 'runs', 'confidence', 'flags']];
    for (const s of sized)
      rsRows.push([
        s.taskId,
        s.cpu ? s.cpu.target.toFixed(2) : '-',
        s.memory ? formatBytes(s.memory.target) : '-',
        String(s.samples),
        pct(s.confidence, 0),
        s.flags.map((f) => f.kind).join(', '),
      ]);
    out.push(...table(rsRows));
  }

  if (r.budgets.length) {
    out.push('', `Budgets (latest run ${r.latestRun?.id ?? '-'})`);
    for (const b of r.budgets)
      out.push(
        `  ${b.subject.padEnd(16)} ${ms(b.actualMs).padStart(8)} / ${ms(b.budgetMs)}  ${b.breached ? `BREACHED by ${ms(b.overMs)}` : b.basis === 'not-measured' ? 'not measured' : 'ok'}${b.note ? ` (${b.note})` : ''}`,
      );
  }
  out.push(...extraSections(r));
  return `${out.join('\n')}\n`;
}
