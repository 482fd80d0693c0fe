/** What every command gets: injected output streams and the error edge (exit codes 0/1/2). */
import type { Command } from 'commander';
import { ConfigError, formatDiagnostics } from '../config/diagnostic.js';
import { loadPipeline } from '../config/load.js';
import type { Pipeline } from '../config/types.js';
import { UsageError } from '../util/usage-error.js';

export interface Out {
  write(text: string): void;
  isTTY?: boolean;
  columns?: number;
}

export interface CliContext {
  stdout: Out;
  stderr: Out;
  env: NodeJS.ProcessEnv;
}

export { UsageError } from '../util/usage-error.js';

/** Global options every command accepts. */
export interface GlobalOptions {
  file?: string;
  store?: string;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/** Loads the pipeline named by -f (default slipway.yml). */
export function pipelineFrom(cmd: Command): Pipeline {
  return loadPipeline(globals(cmd).file);
}

/**
 * Wraps a command action: the action returns its exit code; expected failures (bad config, bad
 * usage) print a located message and exit 2 without a stack trace.
 */
export function action<A extends unknown[]>(
  ctx: CliContext,
  fn: (...args: A) => Promise<number> | number,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = await fn(...args);
    } catch (e) {
      process.exitCode = reportError(ctx, e);
    }
  };
}

export function reportError(ctx: CliContext, e: unknown): number {
  if (e instanceof ConfigError) {
    ctx.stderr.write(`${formatDiagnostics(e.diagnostics, e.source)}\n`);
    return 2;
  }
  if (e instanceof UsageError) {
    ctx.stderr.write(`error: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
    return 2;
  }
  const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
  ctx.stderr.write(`slipway: internal error (please report): ${msg}\n`);
  return 1;
}
