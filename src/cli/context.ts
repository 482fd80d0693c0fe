/** What every command gets: injected output streams and the error edge (exit codes 0/1/2). */
import type { Command } from 'commander';
import { ConfigError, formatDiagnostics } from '../config/diagnostic.js';
import { findPipelineFile } from '../config/find-file.js';
import { loadPipelineSnapshotted } from '../config/snapshot.js';
import { DEFAULT_FILE, type Pipeline } from '../config/types.js';
import type { Out } from '../util/out.js';
import { UsageError } from '../util/usage-error.js';
import type { Probes } from './probe.js';

export interface CliContext {
  stdout: Out;
  stderr: Out;
  env: NodeJS.ProcessEnv;
  /** Probes bin/slipway.js started before loading the CLI (for `run`). */
  probes?: Probes;
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

/**
 * The pipeline file: -f as given, else the nearest slipway.yml in this folder or above it (a
 * command run in packages/web finds the repository's file), else slipway.yml here (which the
 * loader reports as missing).
 */
export function pipelinePath(cmd: Command): string {
  return globals(cmd).file ?? findPipelineFile(process.cwd()) ?? DEFAULT_FILE;
}

/**
 * Loads the pipeline `pipelinePath` names. Commands that only run or show the task
 * graph pass `snapshot: true` to reuse the pipeline snapshot when nothing it was made from
 * changed; commands that report positions in the file (validate, check, deploy) load it in full.
 */
export async function pipelineFrom(cmd: Command, o: { snapshot?: boolean } = {}): Promise<Pipeline> {
  const file = pipelinePath(cmd);
  if (o.snapshot) return loadPipelineSnapshotted(file);
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
