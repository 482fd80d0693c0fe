/**
 * `slipway check`: the CI gate. Fails (exit 1) when the newest finished run breaks a budget or
 * carries an open regression: an active, unacknowledged slowdown whose new regime lasts to the
 * newest runs. A slow newest run without enough history for a change point is a warning.
 */
import type { Pipeline } from '../config/types.js';
import type { RunStatus } from '../events.js';
import type { Store } from '../store/store.js';
import { type BudgetResult, checkBudgets, validateBudgets } from './budgets.js';
import type { ChangePointOptions } from './change-points.js';
import { ENVIRONMENT_SUBJECT } from './environment.js';
import type { Finding } from './findings-store.js';
import { ms, pValue, signedPct } from './format.js';
import { loadRuns } from './history.js';
import { refreshRegressions } from './refresh.js';
import type { Suspect } from './regressions.js';
import { findingsTable } from './render-markdown.js';
import { findingLine } from './render-text.js';
import { latestFinished } from './report.js';
import { RUN_SUBJECT } from './series.js';

export interface CheckResult {
  pipeline: string;
  run: { id: string; status: RunStatus; durationMs: number | null } | null;
  budgets: BudgetResult[];
  /** Open regressions: these fail the check. */
  regressions: Finding[];
  acknowledged: Finding[];
  suspects: Suspect[];
  /** Machine-wide shifts still in effect: information, never a failure (tasks are judged against them). */
  environment: Finding[];
  failed: boolean;
}

/** Evaluates budgets and regressions against the newest finished run. */
export async function runCheck(
  store: Store,
  pipeline: Pipeline,
  opts: { now?: number; detection?: ChangePointOptions } = {},
): Promise<CheckResult> {
  validateBudgets(pipeline);
  const now = opts.now ?? Date.now();
  const runs = await loadRuns(store, { pipeline: pipeline.name });
  const latest = latestFinished(runs);
  const state = await refreshRegressions(store, pipeline, runs, {
    now,
    ...(opts.detection ? { detection: opts.detection } : {}),
  });
  // Tasks that left the pipeline cannot regress it any more.
  const relevant = state.findings.filter((f) => f.subject === RUN_SUBJECT || pipeline.tasks.has(f.subject));
  const regressions = relevant.filter((f) => f.open);
  const acknowledged = relevant.filter(
    (f) => f.active && f.persists && f.direction === 'slower' && f.acknowledged,
  );
  const suspects = latest ? state.suspects.filter((s) => s.runId === latest.id) : [];
  const environment = state.findings.filter(
    (f) => f.subject === ENVIRONMENT_SUBJECT && f.active && f.persists,
  );
  const budgets = latest ? checkBudgets(pipeline, runs, latest) : [];
  return {
    pipeline: pipeline.name,
    run: latest ? { id: latest.id, status: latest.status, durationMs: latest.durationMs } : null,
    budgets,
    regressions,
    acknowledged,
    suspects,
    environment,
    failed: budgets.some((b) => b.breached) || regressions.length > 0,
  };
}

function budgetMessage(b: BudgetResult): string {
  const what = b.subject === 'run' ? 'the run' : `task ${b.subject}`;
  const where = b.basis === 'last-execution' ? ` in run ${b.measuredRunId}, its last real execution` : '';
  return `${what} took ${ms(b.actualMs)}${where}, budget ${ms(b.budgetMs)} (over by ${ms(b.overMs)})`;
}

function regressionMessage(f: Finding): string {
  const what = f.subject === RUN_SUBJECT ? 'the run' : `task ${f.subject}`;
  return `${what} got ${signedPct(f.change)} slower (${ms(f.meanBefore)} → ${ms(f.meanAfter)}) from run ${f.runId} (p=${pValue(f.pValue)}); if intended: slipway regressions ack ${f.id}`;
}

/** Terminal output of the check. */
export function checkText(c: CheckResult): string {
  const out: string[] = [];
  if (!c.run) return `check ${c.pipeline}: no finished runs recorded yet; nothing to check\n`;
  out.push(`check ${c.pipeline}: latest run ${c.run.id} (${c.run.status}, ${ms(c.run.durationMs)})`);
  for (const b of c.budgets) {
    out.push(
      `  ${b.breached ? 'FAIL' : b.basis === 'not-measured' ? '--  ' : 'ok  '} budget ${b.subject}: ${ms(b.actualMs)} / ${ms(b.budgetMs)}${b.breached ? ` (over by ${ms(b.overMs)})` : ''}${b.note ? ` (${b.note})` : ''}`,
    );
  }
  for (const f of c.regressions) out.push(`  FAIL regression ${findingLine(f)}`);
  for (const f of c.acknowledged) out.push(`  ok   regression ${findingLine(f)}`);
  for (const f of c.environment) out.push(`  note ${findingLine(f)}`);
  for (const s of c.suspects)
    out.push(
      `  warn ${s.subject} in this run: ${ms(s.value)} vs ${ms(s.baselineMean)} before (${signedPct(s.change)}, p=${pValue(s.pValue)}); a change point needs a few more runs`,
    );
  if (!c.budgets.length && !c.regressions.length && !c.acknowledged.length && !c.suspects.length)
    out.push('  no budgets configured and no regressions');
  out.push(c.failed ? 'check failed' : 'check passed');
  return `${out.join('\n')}\n`;
}

/** Markdown for $GITHUB_STEP_SUMMARY. */
export function checkMarkdown(c: CheckResult): string {
  const out = [`## Slipway check: ${c.failed ? '❌ failed' : '✅ passed'}`, ''];
  if (!c.run) return `${out.join('\n')}No finished runs recorded yet.\n`;
  out.push(`Latest run \`${c.run.id}\`: ${c.run.status} in ${ms(c.run.durationMs)}.`, '');
  if (c.budgets.length) {
    out.push('### Budgets', '', '| budget | actual | limit | result |', '| --- | --- | --- | --- |');
    for (const b of c.budgets)
      out.push(
        `| ${b.subject} | ${ms(b.actualMs)} | ${ms(b.budgetMs)} | ${b.breached ? `**over by ${ms(b.overMs)}**` : b.basis === 'not-measured' ? 'not measured' : 'ok'}${b.note ? ` (${b.note})` : ''} |`,
      );
    out.push('');
  }
  out.push('### Regressions', '', ...findingsTable([...c.regressions, ...c.acknowledged]), '');
  if (c.regressions.length)
    out.push(
      `Acknowledge an intended slowdown with \`slipway regressions ack ${c.regressions.map((f) => f.id).join(' ')}\`.`,
      '',
    );
  for (const s of c.suspects)
    out.push(
      `> ⚠️ \`${s.subject}\` took ${ms(s.value)} in this run vs ${ms(s.baselineMean)} before (${signedPct(s.change)}); watch the next runs.`,
      '',
    );
  return `${out.join('\n')}\n`;
}

function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** GitHub Actions workflow commands: ::error for failures, ::warning for suspects. */
export function checkAnnotations(c: CheckResult, pipeline: Pipeline): string[] {
  const out: string[] = [];
  for (const b of c.budgets.filter((x) => x.breached)) {
    const loc = pipeline.locate(
      b.subject === 'run' ? ['budgets', 'run'] : ['budgets', 'tasks', b.subject],
      'value',
    );
    const where = 'line' in loc ? `file=${escapeProperty(loc.file)},line=${loc.line},col=${loc.col},` : '';
    out.push(
      `::error ${where}title=${escapeProperty('Slipway budget exceeded')}::${escapeData(budgetMessage(b))}`,
    );
  }
  for (const f of c.regressions)
    out.push(
      `::error title=${escapeProperty('Slipway performance regression')}::${escapeData(regressionMessage(f))}`,
    );
  for (const s of c.suspects)
    out.push(
      `::warning title=${escapeProperty('Slipway: slow run')}::${escapeData(`${s.subject} took ${ms(s.value)} vs ${ms(s.baselineMean)} before (${signedPct(s.change)}, p=${pValue(s.pValue)})`)}`,
    );
  return out;
}
