import type { Command } from 'commander';
import { renderReportMarkdown } from '../analyze/render-markdown.js';
import { renderReportText } from '../analyze/render-text.js';
import { buildReport } from '../analyze/report.js';
import { markInterrupted } from '../deploy/records.js';
import { withStore } from '../store/store.js';
import { parseDuration } from '../util/units.js';
import { action, type CliContext, globals, pipelineFrom, UsageError } from './context.js';
import { MARKDOWN_HELP, writeMarkdown } from './markdown-file.js';
import { parseSince } from './options.js';

interface ReportOptions {
  since?: string;
  json?: boolean;
  markdown?: string;
  html?: string;
  costPerCpuHour?: number;
  targetUtilization?: number;
  costPerWorkerHour?: number;
  workerStart?: number;
}

function price(flag: string, per: string, example: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0)
      throw new UsageError(`bad ${flag} "${v}"`, `write a price per ${per} such as ${example}`);
    return n;
  };
}

/** A worker's start-up time ("45s", "2m", or seconds), in seconds. */
function parseWorkerStart(v: string): number {
  const ms = parseDuration(v);
  if (ms === undefined)
    throw new UsageError(
      `bad --worker-start "${v}"`,
      'write how long a new worker takes to start, such as 30s or 2m',
    );
  return ms / 1000;
}

function parsePercent(v: string): number {
  const n = Number(v.trim().replace(/%$/, ''));
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 100)
    throw new UsageError(
      `bad --target-utilization "${v}"`,
      'write a percentage above 0 and at most 100, such as 70%',
    );
  return n / 100;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('report')
    .description(
      'metrics, trends, regressions, SLIs, DORA, right-sizing and ranked recommendations from history',
    )
    .option('--since <date>', 'only runs since a date (2026-11-01) or a duration ago (7d)')
    .option('--json', 'the complete report as JSON')
    .option('--markdown <file>', MARKDOWN_HELP)
    .option('--html <file>', 'the dashboard as one self-contained HTML file (CI artifacts, e-mail)')
    .option(
      '--cost-per-cpu-hour <price>',
      'growth: monthly cost of the capacity needed at this price',
      price('--cost-per-cpu-hour', 'CPU-hour', '0.05'),
    )
    .option(
      '--cost-per-worker-hour <price>',
      'autoscaling replay: price of one scale-out worker for an hour (default 0.10)',
      price('--cost-per-worker-hour', 'worker-hour', '0.10'),
    )
    .option(
      '--worker-start <duration>',
      'autoscaling replay: how long a new worker takes to start before it takes jobs (default 30s)',
      parseWorkerStart,
    )
    .option(
      '--target-utilization <percent>',
      'growth: how busy the workers may be (default 70%)',
      parsePercent,
    )
    .action(
      action(ctx, async (opts: ReportOptions, cmd: Command) => {
        if (opts.html !== undefined && (opts.json || opts.markdown !== undefined))
          throw new UsageError(
            'choose one of --json, --markdown and --html',
            'the HTML file holds the whole dashboard; write the others in another run',
          );
        if (opts.json && opts.markdown === '-')
          throw new UsageError(
            '--json and --markdown - both want standard output',
            'write the Markdown to a file',
          );
        const since = opts.since === undefined ? undefined : parseSince(opts.since);
        const pipeline = await pipelineFrom(cmd);
        return withStore({ url: globals(cmd).store, root: pipeline.root, create: false }, async (store) => {
          // Deployments whose process died count as interrupted, not running.
          await markInterrupted(store).catch(() => []);
          if (opts.html) {
            const { writeHtmlReport } = await import('./report-html.js');
            return writeHtmlReport(ctx, store, pipeline, opts.html);
          }
          const growth = {
            ...(opts.costPerCpuHour !== undefined ? { costPerCpuHour: opts.costPerCpuHour } : {}),
            ...(opts.targetUtilization !== undefined ? { targetUtilization: opts.targetUtilization } : {}),
          };
          const report = await buildReport(store, pipeline, {
            ...(since === undefined ? {} : { since }),
            growth,
            ...(opts.costPerWorkerHour !== undefined ? { costPerWorkerHour: opts.costPerWorkerHour } : {}),
            ...(opts.workerStart !== undefined ? { workerStartSeconds: opts.workerStart } : {}),
          });
          if (opts.markdown !== undefined) writeMarkdown(ctx, opts.markdown, renderReportMarkdown(report));
          if (opts.json) ctx.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          else if (opts.markdown !== '-') ctx.stdout.write(renderReportText(report));
          return 0;
        });
      }),
    );
}
