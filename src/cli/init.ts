/**
 * `slipway init [--from-turbo] [--ci github] [--force]`: writes a commented slipway.yml for the
 * folder (npm, yarn and pnpm workspaces and their scripts detected, or turbo.json converted) and,
 * with --ci github, a GitHub Actions workflow. Never replaces a file without --force.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { planFromTurbo } from '../init/from-turbo.js';
import { githubWorkflow } from '../init/github-workflow.js';
import type { InitPlan } from '../init/plan.js';
import { planFromProject } from '../init/project.js';
import { renderPipeline } from '../init/render-pipeline.js';
import { schemaFile } from '../util/package-info.js';
import { action, type CliContext, globals, UsageError } from './context.js';

interface InitOptions {
  fromTurbo?: boolean;
  ci?: string;
  force?: boolean;
}

/** The repository root holding `dir` (where .github/ lives), or `dir` outside git. */
function repositoryRoot(dir: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--show-toplevel'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return dir;
  }
}

function refuseExisting(file: string, force?: boolean): void {
  if (!force && existsSync(file))
    throw new UsageError(
      `${path.relative(process.cwd(), file) || file} already exists`,
      'pass --force to replace it',
    );
}

const posix = (p: string): string => p.split(path.sep).join('/');

export function register(program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description('write a commented slipway.yml for this folder (workspaces and scripts detected)')
    .option('--from-turbo', 'convert turbo.json, and say what could not be converted')
    .option('--ci <provider>', 'also write a CI workflow: github')
    .option('--force', 'replace files that exist')
    .action(
      action(ctx, async (opts: InitOptions, cmd: Command) => {
        if (opts.ci !== undefined && opts.ci !== 'github')
          throw new UsageError(`unknown CI provider "${opts.ci}"`, 'use --ci github');
        const file = path.resolve(globals(cmd).file ?? 'slipway.yml');
        const dir = path.dirname(file);
        // With --ci alone and a pipeline already there, only the workflow is written.
        const writePipeline = !(opts.ci && existsSync(file) && !opts.fromTurbo && !opts.force);
        const root = repositoryRoot(dir);
        const workflow = path.join(root, '.github', 'workflows', 'slipway.yml');
        if (writePipeline) refuseExisting(file, opts.force);
        if (opts.ci) refuseExisting(workflow, opts.force);

        let plan: InitPlan | undefined;
        if (writePipeline) {
          let origin = '';
          if (opts.fromTurbo) {
            const t = planFromTurbo(dir);
            plan = t.plan;
            origin = ` from ${t.file}`;
          } else plan = planFromProject(dir);
          const schema = posix(path.relative(dir, schemaFile()));
          writeFileSync(file, renderPipeline(plan, { schema, origin }));
          ctx.stdout.write(`wrote ${path.relative(process.cwd(), file) || file}${describe(plan)}\n`);
          if (plan.unconverted.length) {
            ctx.stdout.write(
              `not converted (${plan.unconverted.length}; also listed at the top of the file):\n`,
            );
            for (const u of plan.unconverted) ctx.stdout.write(`  - ${u}\n`);
          }
        }
        if (opts.ci) {
          const pm = plan?.packageManager ?? planFromProject(dir).packageManager;
          const rel = posix(path.relative(root, file));
          mkdirSync(path.dirname(workflow), { recursive: true });
          writeFileSync(
            workflow,
            githubWorkflow({ packageManager: pm, file: rel, stateDir: posix(path.relative(root, dir)) }),
          );
          ctx.stdout.write(`wrote ${path.relative(process.cwd(), workflow)}\n`);
        }
        ctx.stdout.write(
          'next: slipway validate, then slipway plan to see what a run would do, then slipway run\n',
        );
        return 0;
      }),
    );
}

function describe(plan: InitPlan): string {
  const names = [...plan.templates.keys(), ...plan.tasks.keys()];
  const n = plan.workspace?.packages ?? 0;
  const ws = n ? ` for ${n} workspace package${n === 1 ? '' : 's'}` : '';
  return ` (${names.length ? names.join(', ') : 'no tasks'}${ws})`;
}
