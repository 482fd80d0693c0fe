/** `slipway rollback ENV`: every target returns to the release that was live before. */
import type { Command } from 'commander';
import type { DeployEvent } from '../deploy/events.js';
import { currentOwner } from '../deploy/owner.js';
import { reportProgress } from '../deploy/progress.js';
import { DeployRecorder, rollbackTarget } from '../deploy/records.js';
import { runRollback } from '../deploy/rollback-run.js';
import type { ReleaseId } from '../deploy/types.js';
import { EventStream } from '../events.js';
import { withStore } from '../store/store.js';
import { action, type CliContext, globals } from './context.js';
import { environmentFrom } from './environment-from.js';
import { withEnvironment } from './hold-environment.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('rollback')
    .description('return every target of an environment to the previous release')
    .argument('<environment>', 'a key of environments: in the pipeline file')
    .option('--no-wait', 'fail (exit 1) instead of waiting when another deployment holds the environment')
    .action(
      action(ctx, async (name: string, opts: { wait: boolean }, cmd: Command) => {
        const { pipeline, environment: env } = await environmentFrom(cmd, name, ctx.env);
        return withStore({ url: globals(cmd).store, root: pipeline.root }, (store) =>
          withEnvironment(ctx, store, env, opts.wait, async (held) => {
            const prev = await rollbackTarget(store, name);
            if (prev?.interrupted && prev.current.kind === 'rollback') {
              ctx.stdout.write(
                `finishing the interrupted rollback of ${name} to ${prev.previous.version} (${prev.previous.release})\n`,
              );
            } else if (prev?.interrupted) {
              ctx.stdout.write(
                `deployment ${prev.current.id} of ${prev.current.version} was interrupted: returning every host of ${name} to ${prev.previous.version} (${prev.previous.release}), live before it\n`,
              );
            } else if (prev) {
              ctx.stdout.write(
                `rolling ${name} back from ${prev.current.version} to ${prev.previous.version} (${prev.previous.release})\n`,
              );
            } else {
              ctx.stdout.write(
                `no earlier successful deployment of ${name} recorded; each agent returns to its own previous release\n`,
              );
            }
            const events = new EventStream<DeployEvent>();
            const recorder = new DeployRecorder(store.deployments, events);
            const stop = reportProgress(events, ctx.stdout);
            const r = await runRollback({
              env,
              events,
              to: prev
                ? { release: prev.previous.release as ReleaseId, version: prev.previous.version }
                : undefined,
              deploymentId: held.deploymentId,
              clients: held.clients,
              owner: currentOwner(),
            });
            stop();
            for (const f of await recorder.flush())
              ctx.stderr.write(`slipway: could not record the rollback: ${f}\n`);
            return r.status === 'success' ? 0 : 1;
          }),
        );
      }),
    );
}
