import { appendFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { checkAnnotations, checkMarkdown, checkText, runCheck } from '../analyze/check.js';
import { SEVERITIES, type Severity } from '../containers/findings.js';
import { containerGate, gateAnnotations, gateText } from '../containers/gate.js';
import { withStore } from '../store/store.js';
import { action, type CliContext, globals, pipelineFrom, UsageError } from './context.js';
import { MARKDOWN_HELP, writeMarkdown } from './markdown-file.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('check')
    .description(
      'CI gate: exit 1 when the latest run breaks a budget or carries an unacknowledged regression; Markdown to $GITHUB_STEP_SUMMARY',
    )
    .option('--json', 'machine-readable output')
    .option('--markdown <file>', MARKDOWN_HELP)
    .option(
      '--fail-on <severity>',
      'with analyze: in slipway.yml, fail on container findings at or above error, warning or note',
    )
    .action(
      action(ctx, async (opts: { json?: boolean; markdown?: string; failOn?: string }, cmd: Command) => {
        if (opts.failOn !== undefined && !(SEVERITIES as readonly string[]).includes(opts.failOn))
          throw new UsageError(
            `--fail-on ${opts.failOn}: unknown severity`,
            `one of ${SEVERITIES.join(', ')}`,
          );
        const pipeline = await pipelineFrom(cmd);
        // Dockerfiles and manifests need no history: judged before the store is opened.
        const containers = containerGate(pipeline, opts.failOn as Severity | undefined);
        return withStore({ url: globals(cmd).store, root: pipeline.root, create: false }, async (store) => {
          const result = await runCheck(store, pipeline);
          if (opts.json)
            ctx.stdout.write(`${JSON.stringify(containers ? { ...result, containers } : result, null, 2)}\n`);
          else ctx.stdout.write(checkText(result) + (containers ? gateText(containers) : ''));
          if (containers && ctx.env.GITHUB_ACTIONS === 'true')
            for (const line of gateAnnotations(containers)) ctx.stdout.write(`${line}\n`);
          if (ctx.env.GITHUB_ACTIONS === 'true') {
            for (const line of checkAnnotations(result, pipeline)) ctx.stdout.write(`${line}\n`);
          }
          const md = checkMarkdown(result);
          if (ctx.env.GITHUB_STEP_SUMMARY) await appendFile(ctx.env.GITHUB_STEP_SUMMARY, md);
          // $GITHUB_STEP_SUMMARY has it already: `--markdown "$GITHUB_STEP_SUMMARY"` must not add it twice.
          if (opts.markdown && opts.markdown !== ctx.env.GITHUB_STEP_SUMMARY)
            writeMarkdown(ctx, opts.markdown, md);
          return result.failed || (containers?.failing.length ?? 0) > 0 ? 1 : 0;
        });
      }),
    );
}
