/**
 * `--filter` selection over a pipeline's workspace, in turbo's syntax: `web` (that package),
 * `web...` (and its dependencies), `...web` (and its dependents), `...^web` / `web^...` (without
 * web itself), `@scope/*` (a glob over names), `./apps/*` (folders), `[REF]` / `[A...B]` (packages
 * with files changed in a git range; util/git-changes.ts), `web[REF]` (web, if it changed), and
 * `!pattern` (subtracts). Task names become targets in targets.ts. The model itself is
 * config/workspace-model.ts.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { didYouMean } from '../config/diagnostic.js';
import type { Pipeline } from '../config/types.js';
import { type Workspace, workspaceOf } from '../config/workspace-model.js';
import { type ChangeReader, gitChanges } from '../util/git-changes.js';
import { UsageError } from '../util/usage-error.js';

/** One `--filter` value, parsed. */
interface FilterSpec {
  raw: string;
  exclude: boolean;
  withDeps: boolean;
  withDependents: boolean;
  /** `^`: the dependencies or dependents only, not the matched packages themselves. */
  excludeSelf: boolean;
  name?: string;
  range?: string;
}

export interface FilterOptions {
  /** Reads the files a git range changed (default: git in the pipeline's folder). */
  changes?: ChangeReader;
  /** Sentences for the user about what a git range selected. */
  notes?: string[];
}

/** Root files whose change touches every package (besides the pipeline file and its `inputs:`). */
const EVERY_PACKAGE = [
  'package.json',
  'package-lock.json',
  'pnpm-lock.yaml',
  'pnpm-workspace.yaml',
  'yarn.lock',
];

function parseFilter(raw: string): FilterSpec {
  let s = raw.trim();
  const exclude = s.startsWith('!');
  if (exclude) s = s.slice(1);
  let excludeSelf = false;
  const withDependents = s.startsWith('...');
  if (withDependents) {
    s = s.slice(3);
    if (s.startsWith('^')) {
      excludeSelf = true;
      s = s.slice(1);
    }
  }
  // A trailing `...` after a `]` or a name, not the `...` inside `[A...B]`.
  const withDeps = s.endsWith('...') && !/\[[^\]]*$/.test(s.slice(0, -3));
  if (withDeps) {
    s = s.slice(0, -3);
    if (s.endsWith('^')) {
      excludeSelf = true;
      s = s.slice(0, -1);
    }
  }
  const m = /^([^[]*)(?:\[([^\]]+)\])?$/.exec(s);
  if (!m || (!m[1] && !m[2])) {
    throw new UsageError(
      `bad --filter "${raw}"`,
      'write a package (web, @scope/*, ./apps/*), a git range ([HEAD^1], [main...feature]), with ... before or after, or ! before to subtract',
    );
  }
  return { raw, exclude, withDeps, withDependents, excludeSelf, name: m[1] || undefined, range: m[2] };
}

/**
 * Task ids for `--filter` (repeatable): the union of the filters without `!`, or every package
 * when all start with `!`, minus the packages of the `!` filters. `tasks` are template names or
 * ids; none means every task of the selected packages. A git range that changed nothing selects
 * nothing: the answer is an empty list, not an error.
 */
export function filterTargets(
  p: Pipeline,
  filters: readonly string[],
  tasks: readonly string[] = [],
  o: FilterOptions = {},
): string[] {
  const ws = workspaceOf(p);
  if (!ws)
    throw new UsageError('--filter needs a workspace', 'add a "workspaces:" section to the pipeline file');
  const specs = filters.map(parseFilter);
  const changes = o.changes ?? gitChanges(p.root);
  const positive = specs.filter((s) => !s.exclude);
  const selected = new Set<string>(positive.length ? [] : ws.packages.keys());
  for (const spec of positive) for (const n of selectPackages(p, ws, spec, changes, o.notes)) selected.add(n);
  for (const spec of specs.filter((s) => s.exclude))
    for (const n of selectPackages(p, ws, spec, changes, o.notes)) selected.delete(n);
  const out: string[] = [];
  for (const t of p.tasks.values()) {
    if (!t.package || !selected.has(t.package)) continue;
    const name = t.id.slice(t.package.length + 1);
    if (!tasks.length || tasks.includes(name) || tasks.includes(t.id)) out.push(t.id);
  }
  if (!out.length && !specs.some((s) => s.range)) {
    throw new UsageError(
      `no task matches ${tasks.length ? `${tasks.join(', ')} in ` : ''}--filter ${filters.join(' ')}`,
      'check the task names (templates under workspaces.tasks) and the package names',
    );
  }
  return out;
}

/** The packages one filter names, before `!` is applied. */
function selectPackages(
  p: Pipeline,
  ws: Workspace,
  spec: FilterSpec,
  changes: ChangeReader,
  notes: string[] | undefined,
): Set<string> {
  let base = spec.name === undefined ? [...ws.packages.keys()] : matchPackages(ws, p.root, spec.name);
  if (spec.name !== undefined && !base.length) {
    const guess = didYouMean(spec.name, ws.packages.keys());
    throw new UsageError(
      `--filter "${spec.raw}" matches no workspace package`,
      guess ? `did you mean "${guess}"?` : `packages: ${[...ws.packages.keys()].join(', ')}`,
    );
  }
  if (spec.range !== undefined) {
    const changed = changedPackages(p, ws, changes(spec.range), spec.raw, notes);
    base = base.filter((n) => changed.has(n));
  }
  const out = new Set<string>(spec.excludeSelf ? [] : base);
  const add = (names: Iterable<string>) => {
    for (const n of names) if (!(spec.excludeSelf && base.includes(n))) out.add(n);
  };
  if (spec.withDeps) add(closure(base, (n) => ws.packages.get(n)?.deps ?? []));
  if (spec.withDependents) {
    const rdeps = new Map<string, string[]>();
    for (const pkg of ws.packages.values())
      for (const d of pkg.deps) rdeps.set(d, [...(rdeps.get(d) ?? []), pkg.name]);
    add(closure(base, (n) => rdeps.get(n) ?? []));
  }
  return out;
}

/**
 * The packages holding a changed file (the deepest package folder around it). A change to the
 * pipeline file, one of its `inputs:`, the root package.json or a lockfile changes every package.
 */
function changedPackages(
  p: Pipeline,
  ws: Workspace,
  changed: { files: string[]; described: string },
  raw: string,
  notes: string[] | undefined,
): Set<string> {
  // git names files under its real top folder; the pipeline's folder may be reached by a symlink.
  const posix = (from: string, to: string) => path.relative(from, to).split(path.sep).join('/');
  const real = realpathSync(p.root);
  const dirs = [...ws.packages.values()]
    .map((pkg) => ({ name: pkg.name, rel: `${posix(p.root, pkg.dir)}/` }))
    .sort((a, b) => b.rel.length - a.rel.length);
  const global = p.inputs.length ? picomatch(p.inputs) : () => false;
  const own = posix(p.root, p.file);
  const out = new Set<string>();
  let everything: string | undefined;
  for (const file of changed.files) {
    const rel = posix(real, file);
    if (rel.startsWith('../')) continue;
    if (rel === own || EVERY_PACKAGE.includes(rel) || global(rel)) {
      everything ??= rel;
      continue;
    }
    const pkg = dirs.find((d) => rel.startsWith(d.rel));
    if (pkg) out.add(pkg.name);
  }
  if (everything) for (const n of ws.packages.keys()) out.add(n);
  const list = [...out].sort();
  notes?.push(
    everything
      ? `--filter ${raw}: ${everything} changed ${changed.described}, so every package counts as changed`
      : list.length
        ? `--filter ${raw}: ${list.length} package(s) changed ${changed.described}: ${list.join(', ')}`
        : `--filter ${raw}: no package changed ${changed.described}`,
  );
  return out;
}

function matchPackages(ws: Workspace, root: string, pattern: string): string[] {
  if (pattern.startsWith('./') || pattern.startsWith('../')) {
    const m = picomatch(pattern.replace(/^\.\//, '').replace(/\/+$/, ''));
    return [...ws.packages.values()]
      .filter((pkg) => m(path.relative(root, pkg.dir).split(path.sep).join('/')))
      .map((x) => x.name);
  }
  if (ws.packages.has(pattern)) return [pattern];
  const m = picomatch(pattern);
  return [...ws.packages.keys()].filter((n) => m(n));
}

function closure(start: readonly string[], next: (n: string) => readonly string[]): Set<string> {
  const seen = new Set<string>(start);
  const stack = [...start];
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    for (const m of next(n)) {
      if (seen.has(m)) continue;
      seen.add(m);
      stack.push(m);
    }
  }
  return seen;
}
