/** `slipway deployments [ENV] [--json]`: recorded deployments, newest first. */
import type { Command } from 'commander';
import { didYouMean } from '../config/diagnostic.js';
import { findInterrupted, markInterrupted } from '../deploy/records.js';
import { targetView } from '../deploy/target-view.js';
import { withStore } from '../store/store.js';
import { formatBytes, formatMs } from '../util/units.js';
import { action, type CliContext, globals, pipelineFrom, UsageError } from './context.js';
import { positiveInt } from './options.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('deployments')
    .description('list recorded deployments with outcome, bytes moved and duration')
    .argument('[environment]', 'only this environment')
    .option('--json', 'machine-readable output, with every target')
    .option('-n, --limit <n>', 'newest N deployments', positiveInt('--limit'), 20)
    .action(
      action(ctx, async (name: string | undefined, opts: { json?: boolean; limit: number }, cmd: Command) => {
        const pipeline = await pipelineFrom(cmd);
        return withStore({ url: globals(cmd).store, root: pipeline.root, create: false }, async (store) => {
          // A deployment whose process died is `interrupted`, not `running` for ever: recorded
          // so when the store can be written, shown so in any case.
          const dead = new Map((await findInterrupted(store, name)).map((d) => [d.id, d]));
          if (dead.size) await markInterrupted(store, name).catch(() => []);
          const rows = (await store.deployments.list({ environment: name, limit: opts.limit })).map(
            (d) => (d.status === 'running' && dead.get(d.id)) || d,
          );
          // As `deploy UNKNOWN`: a name neither the file nor the history knows is a mistake.
          if (name !== undefined && !rows.length) unknownEnvironment(name, pipeline.raw.environments);
          if (opts.json) {
            const out = [];
            for (const d of rows) {
              const targets = (await store.deployments.targets(d.id)).map(targetView);
              out.push({
                id: d.id,
                kind: d.kind,
                environment: d.environment,
                version: d.version,
                release: d.release,
                status: d.status,
                startedAt: new Date(d.started_at).toISOString(),
                durationMs: d.duration_ms,
                artifactBytes: d.artifact_bytes,
                bytesSent: d.bytes_sent,
                originEgressBytes: d.origin_egress_bytes,
                chunksTotal: d.chunks_total,
                chunksReused: d.chunks_reused,
                gitSha: d.git_sha,
                reason: d.reason,
                owner: d.owner_pid === null ? null : { pid: d.owner_pid, host: d.owner_host },
                targets,
              });
            }
            ctx.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
            return 0;
          }
          if (!rows.length) {
            ctx.stdout.write(`no deployments recorded yet (${store.location})\n`);
            return 0;
          }
          ctx.stdout.write(
            `  ${'id'.padEnd(20)} ${'environment'.padEnd(12)} ${'version'.padEnd(14)} ${'started'.padEnd(19)} ${'status'.padEnd(11)} ${'duration'.padStart(8)} ${'sent'.padStart(10)}\n`,
          );
          for (const d of rows) {
            const label = d.kind === 'rollback' ? `↩ ${d.version}` : d.version;
            ctx.stdout.write(
              `  ${d.id.padEnd(20)} ${d.environment.padEnd(12)} ${label.slice(0, 14).padEnd(14)} ${new Date(d.started_at).toISOString().slice(0, 19).replace('T', ' ')} ${d.status.padEnd(11)} ${(d.duration_ms === null ? '-' : formatMs(d.duration_ms)).padStart(8)} ${formatBytes(d.bytes_sent).padStart(10)}${d.reason ? `\n      ${d.reason}` : ''}\n`,
            );
          }
          return 0;
        });
      }),
    );
}

function unknownEnvironment(name: string, environments: Record<string, unknown> | undefined): void {
  const known = Object.keys(environments ?? {});
  if (known.includes(name)) return;
  const guess = didYouMean(name, known);
  throw new UsageError(
    `no environment "${name}" in the pipeline file and no deployment of it recorded`,
    guess
      ? `did you mean "${guess}"?`
      : known.length
        ? `known environments: ${known.join(', ')}`
        : 'add an "environments:" section (see the README, section Deploy)',
  );
}
