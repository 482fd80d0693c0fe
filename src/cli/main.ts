/** The slipway command line: one file per command, registered here. */
import { Command, CommanderError } from 'commander';
import { slipwayVersion } from '../util/package-info.js';
import { commandName, registerCommands } from './commands.js';
import { type CliContext, reportError } from './context.js';
import type { Probes } from './probe.js';

export async function main(argv: string[], ctx: CliContext = defaultContext()): Promise<void> {
  const program = new Command('slipway')
    .description('Build pipelines, deployments and performance analytics: fast, and kept fast.')
    .option('-f, --file <path>', 'pipeline file', 'slipway.yml')
    .option(
      '--store <url>',
      'history store: a SQLite path or postgres://… (default .slipway/history.db; env SLIPWAY_STORE)',
    )
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) });
  // `slipway --version`; only without a command, as `deploy --version <label>` is deploy's own.
  if (commandName(argv.slice(2)) === undefined)
    program.version(slipwayVersion(), '-V, --version', 'print the version');
  await registerCommands(program, ctx, argv.slice(2));
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are not errors; everything else commander rejects is a usage error.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    process.exitCode = reportError(ctx, e);
  }
}

/** The process's own streams and environment; `probes` from bin/slipway.js, if it started any. */
export function defaultContext(probes?: Probes): CliContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    ...(probes ? { probes } : {}),
  };
}
