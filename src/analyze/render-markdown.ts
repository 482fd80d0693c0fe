/** Markdown forms for CI job summaries ($GITHUB_STEP_SUMMARY) and `slipway report --markdown`. */
import { formatBytes } from '../util/units.js';
import { ENVIRONMENT_SUBJECT } from './environment.js';
import type { Finding } from './findings-store.js';
import { ms, pct, pValue, SLI_LABELS, signedPct, sliValue } from './format.js';
import { extraSections } from './render-sections.js';
import type { AnalyticsReport } from './report.js';

function row(cells: string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

function head(cells: string[]): string[] {
  return [row(cells), row(cells.map(() => '---'))];
}

/** A Markdown table of findings. */
export function findingsTable(findings: readonly Finding[]): string[] {
  if (!findings.length) return ['No regressions detected.'];
  return [
    ...head(['id', 'subject', 'change', 'before → after', 'first run', 'p-value', 'state']),
    ...findings.map((f) =>
      row([
        `\`${f.id}\``,
        f.subject,
        `${f.direction} ${signedPct(f.change)}`,
        `${ms(f.meanBefore)} → ${ms(f.meanAfter)}`,
        `\`${f.runId}\``,
        pValue(f.pValue),
        f.subject === ENVIRONMENT_SUBJECT
          ? 'the machine (tasks judged against it)'
          : f.open
            ? '**open**'
            : f.acknowledged
              ? `acknowledged${f.acknowledged.by ? ` by ${f.acknowledged.by}` : ''}`
              : f.persists
                ? 'active'
                : 'recovered',
      ]),
    ),
  ];
}

/** Renders the whole report as Markdown. */
export function renderReportMarkdown(r: AnalyticsReport): string {
  const m = r.metrics;
  const out: string[] = [`## Slipway report: ${r.pipeline}`, ''];
  out.push(
    `${r.window.runs} runs${r.window.from ? ` since ${r.window.from.slice(0, 10)}` : ''}; latest ${r.latestRun ? `\`${r.latestRun.id}\` ${r.latestRun.status} in ${ms(r.latestRun.durationMs)}` : 'none'}.`,
    '',
  );
  out.push('### Durations', '', ...head(['', 'p50', 'p95', 'runs']));
  out.push(
    row([
      'run',
      ms(m.pipelineMetrics.total.p50),
      ms(m.pipelineMetrics.total.p95),
      String(m.pipelineMetrics.total.count),
    ]),
  );
  for (const [tag, s] of Object.entries(m.pipelineMetrics.byTag))
    out.push(row([`tag \`${tag}\``, ms(s.p50), ms(s.p95), String(s.count)]));
  for (const t of r.tasks)
    out.push(row([`task \`${t.id}\``, ms(t.p50Ms), ms(t.p95Ms), String(t.executions)]));
  out.push(
    '',
    `- CPU utilization ${pct(m.resourceMetrics.cpuUtilization)}, peak memory ${m.resourceMetrics.peakMemoryBytes === null ? '-' : formatBytes(m.resourceMetrics.peakMemoryBytes)}`,
    `- Parallel efficiency ${pct(m.throughputMetrics.parallelExecutionEfficiency)}, ${m.throughputMetrics.runsPerHour?.toFixed(2) ?? '-'} runs/h`,
    `- Success ${pct(m.qualityMetrics.successRate)}, retries ${pct(m.qualityMetrics.retryRate)}, regressions ${pct(m.qualityMetrics.performanceRegressionRate)} of runs`,
    `- Cache hit rate ${pct(m.cache.hitRate)}, ${ms(m.cache.savedPerRunMs)} saved per run`,
    '',
    '### Regressions',
    '',
    ...findingsTable(r.regressions.findings.filter((f) => f.active)),
    '',
    ...r.regressions.environment.flatMap((e) => [
      `> ${e.moved} of ${e.compared} tasks got ${e.direction} together from run \`${e.runId}\` (${signedPct(e.change)}): the machine, not the code. Beyond it: ${
        e.tasks
          .filter((t) => t.own)
          .map((t) => `\`${t.subject}\` ${signedPct(t.beyond)}`)
          .join(', ') || 'no task'
      }.`,
      '',
    ]),
    '### SLIs',
    '',
    ...head(['SLI', 'value', 'target', 'status', 'error budget left']),
    ...r.slis.map((s) => {
      const v = sliValue(s);
      return row([
        SLI_LABELS[s.name],
        v.value,
        v.target,
        s.met === null ? 'no data' : s.met ? 'met' : '**missed**',
        s.budget?.total ? pct(s.budget.remaining, 0) : '',
      ]);
    }),
    '',
    '### DORA',
    '',
    ...head(['metric', 'value', 'tier']),
    row([
      'deployment frequency',
      r.dora.deploymentFrequency.value === null ? '-' : `${r.dora.deploymentFrequency.value.toFixed(2)}/day`,
      r.dora.deploymentFrequency.tier ?? '-',
    ]),
    row(['change lead time', ms(r.dora.changeLeadTime.value), r.dora.changeLeadTime.tier ?? '-']),
    row(['change fail rate', pct(r.dora.changeFailRate.value), r.dora.changeFailRate.tier ?? '-']),
    row([
      'failed deployment recovery time',
      ms(r.dora.failedDeploymentRecoveryTime.value),
      r.dora.failedDeploymentRecoveryTime.tier ?? '-',
    ]),
    '',
    '### Recommendations',
    '',
  );
  if (!r.recommendations.length) out.push('None.');
  r.recommendations.forEach((rec, i) => {
    out.push(
      `${i + 1}. **${rec.title}**: saves ${ms(rec.savedMsPerRun)} per run. ${rec.evidence.join('; ')}. Risk: ${rec.risk}. Change: \`${rec.change}\``,
    );
  });
  out.push(
    '',
    '### Resources, app validation, deploy windows, growth',
    '',
    '```',
    ...extraSections(r).filter((l, i) => i > 0 || l),
    '```',
  );
  return `${out.join('\n')}\n`;
}
