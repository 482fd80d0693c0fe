/** What every command gets: injected output streams and the error edge (exit codes 0/1/2). */
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError, formatDiagnostics } from '../config/diagnostic.js';
import { findPipelineFile } from '../config/find-file.js';
import { loadPipelineSnapshotted } from '../config/snapshot.js';
import { DEFAULT_FILE, type Pipeline } from '../config/types.js';
import { Checkout } from '../state/checkout.js';
import type { Ledger } from '../state/ledger.js';
import type { Out } from '../util/out.js';
import { UsageError } from '../util/usage-error.js';
import type { Prefetch } from './prefetch.js';

export interface CliContext {
  stdout: Out;
  stderr: Out;
  env: NodeJS.ProcessEnv;
  /** The head start bin/slipway.js took before loading the CLI (prefetch.ts). */
  prefetch?: Prefetch;
  /**
   * The process exits as soon as the command returns, without Node.js's teardown (bin/slipway.js
   * for a deploy it runs itself): what only tidies up for a later process may be left to it.
   */
  processExits?: boolean;
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

/** The checkout of the pipeline folder named by -f: the one the head start began, if it is that one. */
export function checkoutOf(ctx: CliContext, cmd: Command): Checkout {
  const root = path.dirname(path.resolve(pipelinePath(cmd)));
  return ctx.prefetch?.checkout(root) ?? new Checkout(root);
}

/**
/**
 * The pipeline file: -f as given, else the nearest slipway.yml in this folder or above it (a
 * command run in packages/web finds the repository's file), else slipway.yml here (which the
 * loader reports as missing).
 */
function pipelinePath(cmd: Command): string {
  return globals(cmd).file ?? findPipelineFile(process.cwd()) ?? DEFAULT_FILE;
}

/**
 * Loads the pipeline `pipelinePath` names. Commands that only run or show the task graph pass
 * `snapshot` (true, or the ledger of the checkout they already hold) to reuse the pipeline
 * snapshot when nothing it was made from changed; commands that report positions in the file
 * (validate, check) load it in full, and deploy and rollback do when their environment does
 * not resolve (environment-from.ts).
 */
export async function pipelineFrom(cmd: Command, o: { snapshot?: true | Ledger } = {}): Promise<Pipeline> {
  const file = pipelinePath(cmd);
  if (o.snapshot) return loadPipelineSnapshotted(file, o.snapshot === true ? undefined : o.snapshot);
  const { loadPipeline } = await import('../config/load.js');
  return loadPipeline(file);
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
