/** `slipway rollback ENV`: every target returns to the release that was live before. */
import type { Command } from 'commander';
import { runRollback } from '../deploy/deploy.js';
import { resolveEnvironment } from '../deploy/environment.js';
import type { DeployEvent } from '../deploy/events.js';
import { reportProgress } from '../deploy/progress.js';
import { DeployRecorder, previousRelease } from '../deploy/records.js';
import type { ReleaseId } from '../deploy/types.js';
import { EventStream } from '../events.js';
import { openStore } from '../store/store.js';
import { action, type CliContext, globals, pipelineFrom } from './context.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('rollback')
    .description('return every target of an environment to the previous release')
    .argument('<environment>', 'a key of environments: in the pipeline file')
    .action(
      action(ctx, async (name: string, _opts: unknown, cmd: Command) => {
        const pipeline = await pipelineFrom(cmd);
        const env = resolveEnvironment(pipeline, name, ctx.env);
        const store = await openStore({ url: globals(cmd).store, root: pipeline.root });
        try {
          const prev = await previousRelease(store.db, name);
          if (prev) {
            ctx.stdout.write(
              `rolling ${name} back from ${prev.current.version} to ${prev.previous.version} (${prev.previous.release})\n`,
            );
          } else {
            ctx.stdout.write(
              `no earlier successful deployment of ${name} recorded; each agent returns to its own previous release\n`,
            );
          }
          const events = new EventStream<DeployEvent>();
          const recorder = new DeployRecorder(store.db, events);
          const stop = reportProgress(events, ctx.stdout);
          const r = await runRollback({
            env,
            events,
            to: prev
              ? { release: prev.previous.release as ReleaseId, version: prev.previous.version }
              : undefined,
          });
          stop();
          for (const f of await recorder.flush())
            ctx.stderr.write(`slipway: could not record the rollback: ${f}\n`);
          return r.status === 'success' ? 0 : 1;
        } finally {
          await store.close();
        }
      }),
    );
}
