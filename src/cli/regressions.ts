import os from 'node:os';
import type { Command } from 'commander';
import { acknowledge, type Finding } from '../analyze/findings-store.js';
import { loadRuns } from '../analyze/history.js';
import { refreshRegressions } from '../analyze/refresh.js';
import { findingLine } from '../analyze/render-text.js';
import { withStore } from '../store/store.js';
import { action, type CliContext, globals, pipelineFrom, UsageError } from './context.js';

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

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('regressions')
    .description('change points in task and run durations (E-Divisive means), stored with stable ids')
    .option('--json', 'machine-readable output')
    .option('--all', 'include retired findings (no longer detected) and improvements')
    .action(
      action(ctx, async (opts: { json?: boolean; all?: boolean }, c: Command) => {
        const pipeline = await pipelineFrom(c);
        return withStore({ url: globals(c).store, root: pipeline.root, create: false }, async (store) => {
          const runs = await loadRuns(store, { pipeline: pipeline.name });
          const state = await refreshRegressions(store, pipeline, runs, { now: Date.now() });
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
          for (const s of state.suspects)
            ctx.stdout.write(
              `suspect: ${s.subject} in newest run ${s.runId} is ${(s.change * 100).toFixed(1)}% over its regime\n`,
            );
          if (shown.some((f) => f.open))
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
