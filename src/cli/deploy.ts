/** `slipway deploy ENV`: delta transfer, staging everywhere, waves behind health gates, rollback. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { runDeployment } from '../deploy/deploy.js';
import { resolveEnvironment } from '../deploy/environment.js';
import type { DeployEvent } from '../deploy/events.js';
import { reportProgress } from '../deploy/progress.js';
import { DeployRecorder } from '../deploy/records.js';
import { SummaryBuilder } from '../deploy/summary.js';
import { EventStream } from '../events.js';
import { openStore } from '../store/store.js';
import { gitHead } from '../util/git.js';
import { parseSize } from '../util/units.js';
import { action, type CliContext, globals, pipelineFrom, UsageError } from './context.js';

interface DeployOpts {
  artifact?: string;
  version?: string;
  summary?: string;
  relay?: boolean;
  maxRate?: string;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('deploy')
    .description(
      'ship the artifact to an environment: only changed chunks move, staged everywhere, then waves with health gates',
    )
    .argument('<environment>', 'a key of environments: in the pipeline file')
    .option('--artifact <dir>', "folder to ship (default: the environment's artifact)")
    .option('--version <v>', 'version label (default: the git commit, else a timestamp)')
    .option('--summary <file>', 'write a JSON summary of the deployment')
    .option('--relay', 'first agent of each region relays chunks to its neighbours')
    .option('--no-relay', 'every agent pulls from the origin')
    .option('--max-rate <size>', "cap the origin's egress per second, e.g. 20MiB")
    .action(
      action(ctx, async (name: string, opts: DeployOpts, cmd: Command) => {
        const pipeline = await pipelineFrom(cmd);
        const env = resolveEnvironment(pipeline, name, ctx.env);
        if (opts.relay !== undefined) env.relay = opts.relay;
        if (opts.maxRate !== undefined) {
          const rate = parseSize(opts.maxRate);
          if (!rate || rate <= 0)
            throw new UsageError(`bad --max-rate ${opts.maxRate}`, 'write a size per second such as 20MiB');
          env.origin.maxRate = rate;
        }
        const git = gitHead(pipeline.root);
        const version = opts.version ?? git?.sha.slice(0, 12) ?? timestamp();
        const events = new EventStream<DeployEvent>();
        const store = await openStore({ url: globals(cmd).store, root: pipeline.root });
        const recorder = new DeployRecorder(store.db, events);
        const summary = new SummaryBuilder(events);
        const stopProgress = reportProgress(events, ctx.stdout);
        const abort = new AbortController();
        const onSignal = () => abort.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          const r = await runDeployment({
            env,
            version,
            artifact: opts.artifact ? path.resolve(opts.artifact) : undefined,
            events,
            git,
            signal: abort.signal,
          });
          if (!r.ok) {
            throw new UsageError(
              r.error,
              `build the artifact first (e.g. slipway run) or pass --artifact DIR`,
            );
          }
          const failed = await recorder.flush();
          for (const f of failed) ctx.stderr.write(`slipway: could not record the deployment: ${f}\n`);
          if (opts.summary && summary.summary) {
            await writeFile(opts.summary, `${JSON.stringify(summary.summary, null, 2)}\n`);
          }
          return r.value.status === 'success' ? 0 : 1;
        } finally {
          stopProgress();
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          await store.close();
        }
      }),
    );
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}
