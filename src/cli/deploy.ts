/** `slipway deploy ENV`: delta transfer, staging everywhere, waves behind health gates, rollback. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { parseCompression } from '../deploy/adaptive-level.js';
import { recordAppValidations } from '../deploy/app-validation-records.js';
import { runDeployment } from '../deploy/deploy.js';
import { type Environment, isLoneHost } from '../deploy/environment.js';
import type { DeployEvent } from '../deploy/events.js';
import { currentOwner } from '../deploy/owner.js';
import { reportProgress } from '../deploy/progress.js';
import { DeployRecorder } from '../deploy/records.js';
import { SummaryBuilder } from '../deploy/summary.js';
import { waitForWindow } from '../deploy/wait-window.js';
import { EventStream } from '../events.js';
import { deployLedgerDir, stateDir } from '../state/paths.js';
import { withStore } from '../store/store.js';
import { attachDeployTracing } from '../telemetry/tracing.js';
import { gitHeadLater } from '../util/git-facts.js';
import { compileHotCodeOnly } from '../util/hot-code-only.js';
import { preferSmallHeap } from '../util/small-heap.js';
import { trace } from '../util/trace.js';
import { parseSize } from '../util/units.js';
import { action, type CliContext, globals, UsageError } from './context.js';
import { environmentFrom } from './environment-from.js';
import { withEnvironment } from './hold-environment.js';

interface DeployOpts {
  artifact?: string;
  version?: string;
  summary?: string;
  relay?: boolean;
  maxRate?: string;
  compression?: string;
  wait: boolean;
  now?: boolean;
}

/** Set once a deploy gets past its checks to its work (the store, the hold, the deployment). */
let reached = false;

/**
 * Whether this process's deploy got to its work: only such a run's code cache is worth keeping
 * (cli/cold-start.ts), not one of `deploy --help` or of a config error, which ran a sliver of it.
 */
export function reachedDeployment(): boolean {
  return reached;
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
    .option(
      '--compression <how>',
      'compression of bulk transfers: auto (adapts to the link), none, or a zstd level (-10 to 19)',
    )
    .option(
      '--no-wait',
      'fail (exit 1) instead of waiting when another deployment holds the environment or it is outside its deploy windows',
    )
    .option('--now', "deploy now even outside the environment's deploy windows")
    .action(
      action(ctx, async (name: string, opts: DeployOpts, cmd: Command) => {
        trace('deploy: command parsed');
        const { pipeline, environment: env } = await environmentFrom(cmd, name, ctx.env);
        trace('deploy: environment resolved');
        if (opts.relay !== undefined) env.relay = opts.relay;
        if (opts.maxRate !== undefined) {
          const rate = parseSize(opts.maxRate);
          if (!rate || rate <= 0)
            throw new UsageError(`bad --max-rate ${opts.maxRate}`, 'write a size per second such as 20MiB');
          env.origin.maxRate = rate;
        }
        if (opts.compression !== undefined) {
          const how = parseCompression(opts.compression);
          if (how === undefined)
            throw new UsageError(
              `bad --compression ${opts.compression}`,
              'write auto, none or a zstd level from -10 to 19',
            );
          env.origin.compression = how;
        }
        if (env.windows?.length && !opts.now) {
          const w = await holdForWindow(ctx, env, opts.wait);
          if (w !== 0) return w;
        }
        // Read while the store opens and the environment is taken; awaited when the deployment starts.
        const gitAsked = gitHeadLater(pipeline.root);
        const stamp = timestamp();
        const events = new EventStream<DeployEvent>();
        reached = true;
        preferSmallHeap();
        compileHotCodeOnly();
        // The state folder (with its self-ignoring .gitignore) holds the chunk ledger.
        stateDir(pipeline.root);
        const ledgerDir = deployLedgerDir(pipeline.root);
        // In a process that exits right after, the store's log is synced and left (sqlite-exit.ts).
        const where = { url: globals(cmd).store, root: pipeline.root, processExits: ctx.processExits };
        const code = await withStore(where, async (store) => {
          trace('deploy: store open');
          const held = await withEnvironment(
            ctx,
            store,
            env,
            opts.wait,
            async (held, signal) => {
              trace('deploy: environment held');
              const git = await gitAsked;
              const version = opts.version ?? git?.sha.slice(0, 12) ?? stamp;
              const recorder = new DeployRecorder(store.deployments, events);
              const validations = recordAppValidations(store.appValidations, events);
              const summary = new SummaryBuilder(events);
              const stopProgress = reportProgress(events, ctx.stdout);
              const tracing = await attachDeployTracing(events, ctx.env, (m) =>
                ctx.stderr.write(`slipway: ${m}\n`),
              );
              try {
                const r = await runDeployment({
                  env,
                  version,
                  artifact: opts.artifact ? path.resolve(opts.artifact) : undefined,
                  events,
                  git,
                  signal: AbortSignal.any([signal, held.lost]),
                  deploymentId: held.deploymentId,
                  clients: held.clients,
                  owner: currentOwner(),
                  ledgerDir,
                });
                if (!r.ok) {
                  throw new UsageError(
                    r.error,
                    `build the artifact first (e.g. slipway run) or pass --artifact DIR`,
                  );
                }
                const failed = [...(await recorder.flush()), ...(await validations.flush())];
                trace('deploy: recorded');
                for (const f of failed) ctx.stderr.write(`slipway: could not record the deployment: ${f}\n`);
                if (opts.summary && summary.summary) {
                  await writeFile(opts.summary, `${JSON.stringify(summary.summary, null, 2)}\n`);
                }
                return r.value.status === 'success' ? 0 : 1;
              } finally {
                stopProgress();
                await tracing?.shutdown();
              }
              // A lone host's lock taken by its deploy exchange (first-change-hold.ts); with
              // --no-wait, before anything, so that a refusal comes before the walk as it says.
            },
            opts.wait && isLoneHost(env),
          );
          trace('deploy: environment released');
          return held;
        });
        trace('deploy: store closed');
        return code;
      }),
    );
}

/** Waits for the environment's deploy window (Ctrl-C stops the wait); 0 when open, else the exit code. */
async function holdForWindow(ctx: CliContext, env: Environment, wait: boolean): Promise<number> {
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const r = await waitForWindow({
      environment: env.name,
      windows: env.windows ?? [],
      wait,
      signal: abort.signal,
      onWait: (m) => ctx.stderr.write(`slipway: ${m}\n`),
    });
    if (r.ok) return 0;
    ctx.stderr.write(
      `error: ${r.error.message}\n  hint: ${r.error.reason === 'closed' ? 'deploy anyway with --now, or wait for the window (without --no-wait)' : 'run it again to keep waiting, or deploy now with --now'}\n`,
    );
    return r.error.reason === 'aborted' ? 130 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}
