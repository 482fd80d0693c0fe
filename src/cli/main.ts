/** The slipway command line: one file per command, registered here. */
import { Command, CommanderError } from 'commander';
import { scanCommandLine } from '../command-line.js';
import { slipwayVersion } from '../util/package-info.js';
import { registerCommands } from './commands.js';
import { type CliContext, reportError } from './context.js';
import { finishHelp } from './help.js';
import { Prefetch } from './prefetch.js';
import { attachAffectedValue } from './targets.js';

/**
 * Runs the command line `argv`. `program` is one `commandLine` built ahead for these arguments
 * (the daemon's spare builds it while it waits), else it is built now.
 */
export async function main(
  argv: string[],
  ctx: CliContext = defaultContext(),
  program?: Command,
): Promise<void> {
  program ??= await commandLine(ctx, argv.slice(2));
  try {
    await program.parseAsync(attachAffectedValue(argv));
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are not errors; everything else commander rejects is a usage error.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    process.exitCode = reportError(ctx, e);
  }
}

/**
 * The program for the user's arguments `args`: the global options and the command they invoke
 * (every command when none is recognised). It reads `ctx` only when it runs, so it can be built
 * before the context is complete; it parses one command line.
 */
export async function commandLine(ctx: CliContext, args: readonly string[]): Promise<Command> {
  const program = new Command('slipway')
    .description('Build pipelines, deployments and performance analytics: fast, and kept fast.')
    .option('-f, --file <path>', 'pipeline file (default: slipway.yml here or in the nearest folder above)')
    .option(
      '--store <url>',
      'history store: a SQLite path or postgres://… (default .slipway/history.db; env SLIPWAY_STORE)',
    )
    // Read by bin/slipway.js before this parser runs (daemon/client.ts); declared so it is accepted.
    .option('--no-daemon', "run here, not in the checkout's daemon (env SLIPWAY_DAEMON=0)")
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
      // commander's "(Did you mean --force?)" in the shape of every other hint.
      outputError: (s, write) => write(s.replace(/\n\(Did you mean (.+)\?\)/, '\n  hint: did you mean $1?')),
    });
  // `slipway --version`; only without a command, as `deploy --version <label>` is deploy's own.
  const { command } = scanCommandLine(args);
  if (command === undefined) program.version(slipwayVersion(), '-V, --version', 'print the version');
  // A bare `slipway --version` prints it and stops: no command's code need load for that.
  const versionOnly =
    command === undefined &&
    args.some((a) => a === '-V' || a === '--version') &&
    !args.some((a) => a === '-h' || a === '--help');
  if (!versionOnly) await registerCommands(program, ctx, args);
  finishHelp(program);
  return program;
}

/** The process's own streams and environment; `prefetch`: the head start bin/slipway.js took. */
export function defaultContext(prefetch: Prefetch = Prefetch.none()): CliContext {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, prefetch };
}
