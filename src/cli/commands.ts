/**
 * Every command, in the order `slipway --help` lists them. Add one line per command file.
 * Loaded lazily: a command's module (and what it imports) loads only when that command runs,
 * so `slipway run` does not pay for the deploy agent or the analytics at start-up.
 */
import type { Command } from 'commander';
import { scanCommandLine } from '../command-line.js';
import { compiledEagerly } from '../util/v8-flags.js';
import type { CliContext } from './context.js';

export type Register = (program: Command, ctx: CliContext) => void;
type Loader = () => Promise<{ register: Register }>;

const commands: Record<string, Loader> = {
  init: () => import('./init.js'),
  run: () => import('./run.js'),
  plan: () => import('./plan.js'),
  graph: () => import('./graph.js'),
  history: () => import('./history.js'),
  why: () => import('./why.js'),
  cache: () => import('./cache.js'),
  report: () => import('./report.js'),
  regressions: () => import('./regressions.js'),
  check: () => import('./check.js'),
  deploy: () => import('./deploy.js'),
  rollback: () => import('./rollback.js'),
  deployments: () => import('./deployments.js'),
  serve: () => import('./serve.js'),
  // A server whose deploys come later: its code compiled as it loads (v8-flags.ts compiledEagerly).
  agent: () => compiledEagerly(() => import('./agent.js')),
  worker: () => import('./worker.js'),
  validate: () => import('./validate.js'),
  analyze: () => import('./analyze.js'),
  daemon: () => import('./daemon.js'),
};

/** Registers the invoked command only, or every command (for help and unknown commands). */
export async function registerCommands(
  program: Command,
  ctx: CliContext,
  args: readonly string[],
): Promise<void> {
  const name = scanCommandLine(args).command;
  const loaders = name && name in commands ? [commands[name]!] : Object.values(commands);
  for (const m of await Promise.all(loaders.map((l) => l()))) m.register(program, ctx);
}

/** Loads these commands' code now (the daemon's spare process, before any command arrives). */
export async function preloadCommands(names: readonly string[]): Promise<void> {
  await Promise.all(names.map((n) => commands[n]?.()));
}
