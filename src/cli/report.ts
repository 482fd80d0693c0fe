import type { Command } from 'commander';
import { renderReportMarkdown } from '../analyze/render-markdown.js';
import { renderReportText } from '../analyze/render-text.js';
import { buildReport } from '../analyze/report.js';
import { markInterrupted } from '../deploy/records.js';
import { withStore } from '../store/store.js';
import { parseDuration } from '../util/units.js';
import { action, type CliContext, globals, pipelineFrom, UsageError } from './context.js';

/** "2026-11-01", an ISO time, or a duration ago ("7d", "12h"); epoch ms. */
export function parseSince(v: string, now = Date.now()): number {
  const ago = parseDuration(v);
  if (ago !== undefined && /[a-z]$/.test(v.trim())) return now - ago;
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new UsageError(
      `bad --since "${v}"`,
      'write a date such as 2026-11-01, an ISO time, or a duration ago such as 7d',
    );
  return t;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('report')
    .description(
      'metrics, trends, regressions, SLIs, DORA, right-sizing and ranked recommendations from history',
    )
    .option('--since <date>', 'only runs since a date (2026-11-01) or a duration ago (7d)')
    .option('--json', 'the complete report as JSON')
    .option('--markdown', 'the report as Markdown (for CI job summaries)')
    .option('--html <file>', 'the dashboard as one self-contained HTML file (CI artifacts, e-mail)')
    .action(
      action(
        ctx,
        async (opts: { since?: string; json?: boolean; markdown?: boolean; html?: string }, cmd: Command) => {
          if ([opts.json, opts.markdown, opts.html].filter(Boolean).length > 1)
            throw new UsageError('choose one of --json, --markdown and --html');
          const since = opts.since === undefined ? undefined : parseSince(opts.since);
          const pipeline = await pipelineFrom(cmd);
          return withStore({ url: globals(cmd).store, root: pipeline.root, create: false }, async (store) => {
            // Deployments whose process died count as interrupted, not running.
            await markInterrupted(store.db).catch(() => []);
            if (opts.html) {
              const { writeHtmlReport } = await import('./report-html.js');
              return writeHtmlReport(ctx, store, pipeline, opts.html);
            }
            const report = await buildReport(store, pipeline, since === undefined ? {} : { since });
            if (opts.json) ctx.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
            else if (opts.markdown) ctx.stdout.write(renderReportMarkdown(report));
            else ctx.stdout.write(renderReportText(report));
            return 0;
          });
        },
      ),
    );
}
