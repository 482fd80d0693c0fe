/**
 * `slipway init` without turbo.json: reads the folder (package.json, npm/yarn workspaces or
 * pnpm-workspace.yaml, the packages' scripts) and proposes a pipeline of the scripts a pipeline
 * runs (build, test, lint, type checks), leaving out servers and watchers.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { detectWorkspace } from '../config/workspaces.js';
import type { InitPlan, InitTask, PackageManager } from './plan.js';

/** Scripts that belong in a pipeline, in the order the file lists them. */
const PIPELINE_SCRIPTS = ['build', 'typecheck', 'type-check', 'check-types', 'lint', 'test'];
/** Scripts that never end (servers, watchers): not pipeline tasks. */
const LONG_RUNNING = /^(dev|start|serve|watch|preview)(:|$)|:watch$/;
/** npm's life-cycle scripts, which the package manager runs itself. */
const LIFECYCLE = new Set([
  'prepare',
  'install',
  'preinstall',
  'postinstall',
  'prepack',
  'postpack',
  'prepublishOnly',
]);

/** A life-cycle script, or a pre/post hook of another script (`pretest` beside `test`). */
function isHook(s: string, scripts: ReadonlySet<string>): boolean {
  return LIFECYCLE.has(s) || (/^(pre|post)./.test(s) && scripts.has(s.replace(/^(pre|post)/, '')));
}

const LOCKFILES: [string, PackageManager][] = [
  ['pnpm-lock.yaml', 'pnpm'],
  ['yarn.lock', 'yarn'],
  ['package-lock.json', 'npm'],
];

interface Manifest {
  name?: string;
  scripts?: Record<string, unknown>;
  packageManager?: string;
  main?: unknown;
  module?: unknown;
  types?: unknown;
  bin?: unknown;
  exports?: unknown;
  [k: string]: unknown;
}

function readManifest(dir: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/** The lockfile in `dir` and the package manager it implies (package.json's packageManager wins). */
function packageManagerOf(dir: string): { pm: PackageManager; lockfile?: string } {
  const found = LOCKFILES.find(([file]) => existsSync(path.join(dir, file)));
  const declared = readManifest(dir)?.packageManager?.split('@')[0];
  const pm =
    declared === 'npm' || declared === 'pnpm' || declared === 'yarn'
      ? declared
      : (found?.[1] ?? (existsSync(path.join(dir, 'pnpm-workspace.yaml')) ? 'pnpm' : 'npm'));
  return { pm, ...(found ? { lockfile: found[0] } : {}) };
}

/** Where a package's build writes, from the paths its package.json points at (default dist). */
function buildOutputs(manifests: readonly Manifest[]): string[] {
  const dirs = new Set<string>();
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      const first = v.replace(/^\.\//, '').split('/')[0];
      if (first && v.includes('/') && !first.startsWith('.') && first !== 'src') dirs.add(first);
    } else if (v && typeof v === 'object') for (const x of Object.values(v)) visit(x);
  };
  // Not "bin": executables are often sources (bin/cli.js) rather than build output.
  for (const m of manifests) for (const k of ['main', 'module', 'types', 'exports']) visit(m[k]);
  const list = [...dirs].sort();
  return (list.length ? list : ['dist']).map((d) => `${d}/**`);
}

function pipelineTask(name: string, hasBuild: boolean, outputs: string[], plain?: PackageManager): InitTask {
  const run = plain ? `${plain} run ${name}` : undefined;
  if (name === 'build')
    return {
      ...(run ? { run } : {}),
      ...(plain ? {} : { needs: ['^build'] }),
      outputs,
      comment: plain
        ? 'outputs: what the cache stores and restores'
        : 'first the builds of the packages this one depends on (^build); outputs are cached',
    };
  if (name === 'test' && hasBuild) return { ...(run ? { run } : {}), needs: ['build'] };
  return run ? { run } : {};
}

/** A plan from the folder's package.json files; `dir` is where slipway.yml will live. */
export function planFromProject(dir: string): InitPlan {
  const root = readManifest(dir);
  const { pm, lockfile } = packageManagerOf(dir);
  const plan: InitPlan = {
    name: path.basename(dir),
    packageManager: pm,
    inputs: lockfile ? [lockfile] : [],
    templates: new Map(),
    tasks: new Map(),
    notes: [],
    unconverted: [],
  };
  const detected = detectWorkspace(dir);
  if (detected) {
    const packages = [...detected.ws.packages.values()];
    const source = existsSync(path.join(dir, 'pnpm-workspace.yaml'))
      ? 'pnpm-workspace.yaml (pnpm)'
      : `package.json "workspaces" (${pm})`;
    plan.workspace = { source, globs: detected.globs, packages: packages.length };
    const count = (s: string) => packages.filter((p) => p.scripts[s] !== undefined).length;
    const found = PIPELINE_SCRIPTS.filter((s) => count(s) > 0);
    const outputs = buildOutputs(packages.map((p) => readManifest(p.dir) ?? {}));
    for (const s of found) {
      const t = pipelineTask(s, found.includes('build'), outputs);
      const where = `in ${count(s)} of ${packages.length} packages`;
      plan.templates.set(s, { ...t, comment: t.comment ? `${where}; ${t.comment}` : where });
    }
    noteOthers(
      plan,
      packages.flatMap((p) => Object.keys(p.scripts)),
      found,
    );
    if (!found.length)
      plan.notes.push('no build, lint, test or type-check scripts were found in the packages');
    return plan;
  }
  const scripts = Object.keys(root?.scripts ?? {});
  const found = PIPELINE_SCRIPTS.filter((s) => scripts.includes(s));
  const outputs = buildOutputs(root ? [root] : []);
  for (const s of found) plan.tasks.set(s, pipelineTask(s, found.includes('build'), outputs, pm));
  noteOthers(plan, scripts, found);
  if (!found.length)
    plan.tasks.set('build', {
      run: 'echo "replace with your build command"',
      outputs: ['dist/**'],
      comment: root ? 'package.json has no build, lint or test script' : 'no package.json here',
    });
  return plan;
}

function noteOthers(plan: InitPlan, scripts: readonly string[], used: readonly string[]): void {
  const names = new Set(scripts);
  const all = [...names].filter((s) => !used.includes(s) && !isHook(s, names)).sort();
  const long = all.filter((s) => LONG_RUNNING.test(s));
  const rest = all.filter((s) => !LONG_RUNNING.test(s));
  if (long.length)
    plan.notes.push(
      `left out, as they keep running (servers, watchers): ${long.join(', ')}; run them with ${plan.packageManager} run`,
    );
  if (rest.length)
    plan.notes.push(`other scripts, add them as tasks if they belong in the pipeline: ${rest.join(', ')}`);
}
