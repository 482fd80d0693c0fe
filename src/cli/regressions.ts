import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { Command } from 'commander';
import { ENVIRONMENT_SUBJECT } from '../analyze/environment.js';
import { acknowledge, type Finding } from '../analyze/findings-store.js';
import { loadRuns } from '../analyze/history.js';
import { inputScanText, scanInput } from '../analyze/input-regressions.js';
import { refreshRegressions } from '../analyze/refresh.js';
import { environmentLines, findingLine } from '../analyze/render-text.js';
import { readSeries } from '../analyze/series-input.js';
import { withStore } from '../store/store.js';
import { action, type CliContext, globals, pipelineFrom, UsageError } from './context.js';
import { parseSince } from './options.js';

function findingJson(f: Finding) {
  return {
    ...f,
    runStartedAt: new Date(f.runStartedAt).toISOString(),
    detectedAt: new Date(f.detectedAt).toISOString(),
  };
}

/** Who acknowledges: the CI actor when there is one, else the local user. */
function actor(env: NodeJS.ProcessEnv): string | null {
  if (env.GITHUB_ACTOR) return env.GITHUB_ACTOR;
  try {
    return os.userInfo().username;
  } catch {
    return null;
  }
}

interface RegressionsOptions {
  json?: boolean;
  all?: boolean;
  since?: string;
  input?: string;
  timeColumn: string;
  metrics?: string;
}

/** `--input FILE`: change points in a file's series; no pipeline or store involved. */
async function analyseInput(ctx: CliContext, file: string, opts: RegressionsOptions): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read --input ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      'give the path of a CSV or JSON-lines file',
    );
  }
  const since = opts.since === undefined ? undefined : parseSince(opts.since);
  const metrics = opts.metrics
    ?.split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const format = /\.(jsonl|ndjson)$/i.test(file) ? 'jsonl' : /\.csv$/i.test(file) ? 'csv' : undefined;
  const read = readSeries(text, {
    timeColumn: opts.timeColumn,
    ...(metrics ? { metrics } : {}),
    ...(format ? { format } : {}),
  });
  if (!read.ok) {
    const p = read.problem;
    throw new UsageError(`${file}:${p.line}${p.col ? `:${p.col}` : ''}: ${p.message}`, p.hint);
  }
  const series =
    since === undefined
      ? read.series
      : read.series.map((s) => ({ ...s, points: s.points.filter((p) => p.time >= since) }));
  const scan = scanInput(file, read.rows, series);
  ctx.stdout.write(opts.json ? `${JSON.stringify(scan, null, 2)}\n` : inputScanText(scan));
  return 0;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('regressions')
    .description('change points in task and run durations (E-Divisive means), stored with stable ids')
    .option('--json', 'machine-readable output')
    .option('--all', 'include retired findings (no longer detected) and improvements')
    .option(
      '--since <date>',
      'analyse only runs since a date (2026-11-01) or a duration ago (30d); default: all',
    )
    .option(
      '--input <file>',
      'analyse a CSV (time column + metric columns) or JSON-lines file instead of history',
    )
    .option('--time-column <name>', 'with --input: the time column or field', 'time')
    .option(
      '--metrics <names>',
      'with --input: comma-separated metric columns (default: every numeric column)',
    )
    .action(
      action(ctx, async (opts: RegressionsOptions, c: Command) => {
        if (opts.input !== undefined) return analyseInput(ctx, opts.input, opts);
        const since = opts.since === undefined ? undefined : parseSince(opts.since);
        const pipeline = await pipelineFrom(c);
        return withStore({ url: globals(c).store, root: pipeline.root, create: false }, async (store) => {
          const runs = await loadRuns(store, {
            pipeline: pipeline.name,
            ...(since !== undefined ? { since } : {}),
          });
          const state = await refreshRegressions(store, pipeline, runs, {
            now: Date.now(),
            ...(since !== undefined ? { since } : {}),
          });
          const shown = opts.all
            ? state.findings
            : state.findings.filter((f) => f.active && f.direction === 'slower');
          if (opts.json) {
            ctx.stdout.write(
              `${JSON.stringify(
                {
                  pipeline: pipeline.name,
                  runs: runs.length,
                  findings: shown.map(findingJson),
                  suspects: state.suspects,
                  environment: state.scan.environment,
                  series: state.scan.series.map((s) => ({ subject: s.subject, points: s.runIds.length })),
                },
                null,
                2,
              )}\n`,
            );
            return 0;
          }
          if (!runs.length) {
            ctx.stdout.write(`no runs recorded yet for ${pipeline.name}\n`);
            return 0;
          }
          ctx.stdout.write(
            `${shown.length ? shown.map((f) => findingLine(f)).join('\n') : 'no regressions detected'} (${runs.length} runs, ${state.scan.series.length} series)\n`,
          );
          for (const e of state.scan.environment) ctx.stdout.write(`${environmentLines(e).join('\n')}\n`);
          for (const s of state.suspects)
            ctx.stdout.write(
              `suspect: ${s.subject} in newest run ${s.runId} is ${(s.change * 100).toFixed(1)}% over its regime\n`,
            );
          if (shown.some((f) => f.open && f.subject !== ENVIRONMENT_SUBJECT))
            ctx.stdout.write(
              'acknowledge an intended slowdown with: slipway regressions ack ID [--note TEXT]\n',
            );
          return 0;
        });
      }),
    );

  cmd
    .command('ack')
    .description('acknowledge regressions (intended slowdowns) so `slipway check` passes')
    .argument('<ids...>', 'finding ids as listed by `slipway regressions`')
    .option('--note <text>', 'why it is acceptable')
    .option('--undo', 'withdraw the acknowledgement')
    .action(
      action(ctx, async (ids: string[], opts: { note?: string; undo?: boolean }, c: Command) => {
        const pipeline = await pipelineFrom(c);
        return withStore({ url: globals(c).store, root: pipeline.root }, async (store) => {
          const results = await acknowledge(store, pipeline.name, ids, {
            by: actor(ctx.env),
            note: opts.note ?? null,
            now: Date.now(),
            undo: opts.undo ?? false,
          });
          const unknown = results.filter((r) => !r.ok).map((r) => r.id);
          for (const r of results)
            if (r.ok)
              ctx.stdout.write(
                `${opts.undo ? 'unacknowledged' : 'acknowledged'} ${findingLine(r.finding)}\n`,
              );
          if (unknown.length)
            throw new UsageError(
              `unknown finding id${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`,
              'list them with `slipway regressions --all`',
            );
          return 0;
        });
      }),
    );
}
