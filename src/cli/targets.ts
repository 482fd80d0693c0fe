/**
 * The options every command that takes task names shares (`run`, `plan`, `graph`, `why`),
 * resolved by graph/targets.ts: `--filter` (repeatable) and `--affected[=BASE]`.
 */
import type { TargetOptions } from '../graph/targets.js';
import type { CliContext } from './context.js';

/** What commander hands an action for these options. */
export interface TargetFlags {
  filter: string[];
  /** '' for a bare --affected (see `attachAffectedValue`). */
  affected?: string;
}

/** `--filter`, for `.option(...filterOption)`. */
export const filterOption = [
  '--filter <pattern>',
  'workspace packages: web, web... (with dependencies), ...web (with dependents), @scope/*, ./apps/*, [HEAD^1] or ...[origin/main] (changed in a git range), !web (subtract); repeatable',
  (v: string, prev: string[]) => [...prev, v],
  [] as string[],
] as const;

/** `--affected [base]`, for `.option(...affectedOption)`. */
export const affectedOption = [
  '--affected [base]',
  'only packages changed since BASE (merge-base to the working tree) and their dependents; default base: origin/$GITHUB_BASE_REF on a pull request, else main (origin/main without a local main)',
] as const;

/** The selection options for graph/targets.ts from the parsed flags, in the folder the user is in. */
export function targetsFrom(ctx: CliContext, flags: TargetFlags): TargetOptions {
  return {
    filters: flags.filter,
    ...(flags.affected !== undefined ? { affected: flags.affected } : {}),
    cwd: process.cwd(),
    env: ctx.env,
  };
}

/** Tells the user what narrowed the selection (stderr: stdout may be a graph or JSON). */
export function printNotes(ctx: CliContext, notes: readonly string[]): void {
  for (const n of notes) ctx.stderr.write(`slipway: ${n}\n`);
}

/**
 * A bare `--affected` becomes `--affected=`: commander would otherwise take the next word (a task
 * name: `run --affected build`) as its base. Words after `--` are left alone.
 */
export function attachAffectedValue(argv: readonly string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((a, i) => (a === '--affected' && (end < 0 || i < end) ? '--affected=' : a));
}
