import type { Command } from 'commander';
import { markAbandonedRuns } from '../exec/abandoned-runs.js';
import { withStore } from '../store/store.js';
import { formatMs } from '../util/units.js';
import { action, type CliContext, globals, pipelineFrom } from './context.js';
import { positiveInt } from './options.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('history')
    .description('list recorded runs with status, duration and task counts')
    .option('--json', 'machine-readable output')
    .option('-n, --limit <n>', 'newest N runs', positiveInt('--limit'), 20)
    .option('--all-pipelines', 'include runs of other pipelines in the same store')
    .action(
      action(ctx, async (opts: { json?: boolean; limit: number; allPipelines?: boolean }, cmd: Command) => {
        const pipeline = await pipelineFrom(cmd, { snapshot: true });
        return withStore({ url: globals(cmd).store, root: pipeline.root, create: false }, async (store) => {
          await markAbandonedRuns(store);
          const runs = await store.runs.list({
            ...(opts.allPipelines ? {} : { pipeline: pipeline.name }),
            limit: opts.limit,
          });
          if (opts.json) {
            const rows = runs.map((r) => ({
              id: r.id,
              pipeline: r.pipeline,
              status: r.status,
              startedAt: new Date(r.started_at).toISOString(),
              durationMs: r.duration_ms,
              lowerBoundMs: r.lower_bound_ms,
              concurrency: r.concurrency,
              gitSha: r.git_sha,
              tasks: {
                total: r.tasks_total,
                succeeded: r.tasks_succeeded,
                failed: r.tasks_failed,
                skipped: r.tasks_skipped,
                cached: r.tasks_cached,
              },
            }));
            ctx.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
            return 0;
          }
          if (!runs.length) {
            ctx.stdout.write(`no runs recorded yet for ${pipeline.name} (${store.location})\n`);
            return 0;
          }
          ctx.stdout.write(
            `  ${'run'.padEnd(18)} ${'started'.padEnd(19)} ${'status'.padEnd(11)} ${'duration'.padStart(9)} ${'×bound'.padStart(6)}  tasks ok/failed/skipped/cached\n`,
          );
          for (const r of runs) {
            const ratio =
              r.duration_ms && r.lower_bound_ms
                ? (r.duration_ms / r.lower_bound_ms).toFixed(2)
                : r.tasks_total > 0 && r.tasks_cached === r.tasks_total
                  ? 'cached'
                  : '-';
            ctx.stdout.write(
              `  ${r.id.padEnd(18)} ${new Date(r.started_at).toISOString().slice(0, 19).replace('T', ' ')} ${r.status.padEnd(11)} ${(r.duration_ms === null ? '-' : formatMs(r.duration_ms)).padStart(9)} ${ratio.padStart(6)}  ${r.tasks_total}: ${r.tasks_succeeded}/${r.tasks_failed}/${r.tasks_skipped}/${r.tasks_cached}\n`,
            );
          }
          return 0;
        });
      }),
    );
}
