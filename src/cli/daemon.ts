/**
 * `slipway daemon start|stop|status`: the checkout's resident process that keeps a pre-loaded
 * spare ready, so `run`, `plan` and `deploy` skip loading the CLI (daemon/server.ts). They
 * start it by themselves outside CI; these commands are for scripts and for looking.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_FILE } from '../config/types.js';
import { askDaemon, startDaemon, stopDaemon } from '../daemon/control.js';
import type { DaemonStatus } from '../daemon/protocol.js';
import { formatMs } from '../util/units.js';
import { action, type CliContext, checkoutOf, globals, UsageError } from './context.js';

export function register(program: Command, ctx: CliContext): void {
  const daemon = program
    .command('daemon')
    .description("the checkout's resident process that makes run, plan and deploy start faster")
    .addHelpText(
      'after',
      `
Examples:
  slipway daemon status     # is one running for this checkout, since when, how many commands served
  slipway daemon start      # start it now (run, plan and deploy start it, except where CI is set)
  slipway daemon stop       # stop it (it also exits after 10 idle minutes, or when .slipway/ is removed)
  slipway run --no-daemon   # one command without it; SLIPWAY_DAEMON=0 for all, SLIPWAY_DAEMON=1 to use it under CI`,
    );
  daemon
    .command('status')
    .description("show this checkout's daemon: process, socket, build, commands served")
    .option('--json', 'print the status as JSON (null when none runs)')
    .action(
      action(ctx, async (opts: { json?: boolean }, cmd: Command) => {
        const status = await askDaemon(rootOf(ctx, cmd), 'status');
        if (opts.json) ctx.stdout.write(`${JSON.stringify(status ?? null)}\n`);
        else ctx.stdout.write(status ? describe(status) : 'no daemon is running for this checkout\n');
        return status ? 0 : 1;
      }),
    );
  daemon
    .command('start')
    .description("start this checkout's daemon in the background (no-op when one runs)")
    .action(
      action(ctx, async (_opts: unknown, cmd: Command) => {
        const status = await startDaemon(rootOf(ctx, cmd), ctx.env);
        if (!status) {
          ctx.stderr.write('slipway: the daemon did not start (is the folder writable?)\n');
          return 1;
        }
        ctx.stdout.write(describe(status));
        return 0;
      }),
    );
  daemon
    .command('stop')
    .description("stop this checkout's daemon (commands it is running finish)")
    .action(
      action(ctx, async (_opts: unknown, cmd: Command) => {
        const was = await stopDaemon(rootOf(ctx, cmd));
        ctx.stdout.write(
          was ? `daemon stopped (pid ${was.pid})\n` : 'no daemon is running for this checkout\n',
        );
        return 0;
      }),
    );
}

/** The pipeline folder the daemon serves; a folder without a pipeline file has none. */
function rootOf(ctx: CliContext, cmd: Command): string {
  const root = checkoutOf(ctx, cmd).root;
  const given = globals(cmd).file;
  const file = given ? path.resolve(given) : path.join(root, DEFAULT_FILE);
  if (!existsSync(file))
    throw new UsageError(
      `no pipeline file: ${file} does not exist`,
      'run "slipway init" here, or pass -f FILE',
    );
  return root;
}

function describe(s: DaemonStatus): string {
  return [
    `daemon running: pid ${s.pid}, up ${formatMs(Date.now() - s.startedAt)}, ${s.served} command(s) served, ${s.ready} spare(s) ready`,
    `  checkout: ${s.root}`,
    `  socket:   ${s.socket}`,
    '',
  ].join('\n');
}
