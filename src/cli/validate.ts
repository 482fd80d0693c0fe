import type { Command } from 'commander';
import { action, type CliContext, pipelineFrom } from './context.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description('check the pipeline file and report every problem with file:line:col')
    .action(
      action(ctx, async (_opts: unknown, cmd: Command) => {
        const p = await pipelineFrom(cmd);
        ctx.stdout.write(`${p.file}: ok (${p.tasks.size} tasks)\n`);
        return 0;
      }),
    );
}
