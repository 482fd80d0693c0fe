/**
 * `--filter` selection over a pipeline's workspace (`web`, `web...`, `...web`, `@scope/*`,
 * `./apps/*`); task names become targets in targets.ts. The model itself is
 * config/workspace-model.ts.
 */
import path from 'node:path';
import picomatch from 'picomatch';
import { didYouMean } from '../config/diagnostic.js';
import type { Pipeline } from '../config/types.js';
import { type Workspace, workspaceOf } from '../config/workspace-model.js';
import { UsageError } from '../util/usage-error.js';

/**
 * Task ids for `--filter` (repeatable): `web` (that package), `web...` (and its dependencies),
 * `...web` (and its dependents), `@scope/*` (a glob over names), `./apps/*` (folders).
 * `tasks` are template names or ids; none means every task of the selected packages.
 */
export function filterTargets(
  p: Pipeline,
  filters: readonly string[],
  tasks: readonly string[] = [],
): string[] {
  const ws = workspaceOf(p);
  if (!ws)
    throw new UsageError('--filter needs a workspace', 'add a "workspaces:" section to the pipeline file');
  const selected = new Set<string>();
  for (const f of filters) {
    let core = f;
    const withDeps = core.endsWith('...');
    if (withDeps) core = core.slice(0, -3);
    const withDependents = core.startsWith('...');
    if (withDependents) core = core.slice(3);
    const base = matchPackages(ws, p.root, core);
    if (!base.length) {
      const guess = didYouMean(core, ws.packages.keys());
      throw new UsageError(
        `--filter "${f}" matches no workspace package`,
        guess ? `did you mean "${guess}"?` : `packages: ${[...ws.packages.keys()].join(', ')}`,
      );
    }
    for (const name of base) selected.add(name);
    if (withDeps) for (const name of closure(base, (n) => ws.packages.get(n)?.deps ?? [])) selected.add(name);
    if (withDependents) {
      const rdeps = new Map<string, string[]>();
      for (const pkg of ws.packages.values())
        for (const d of pkg.deps) rdeps.set(d, [...(rdeps.get(d) ?? []), pkg.name]);
      for (const name of closure(base, (n) => rdeps.get(n) ?? [])) selected.add(name);
    }
  }
  const out: string[] = [];
  for (const t of p.tasks.values()) {
    if (!t.package || !selected.has(t.package)) continue;
    const name = t.id.slice(t.package.length + 1);
    if (!tasks.length || tasks.includes(name) || tasks.includes(t.id)) out.push(t.id);
  }
  if (!out.length) {
    throw new UsageError(
      `no task matches ${tasks.length ? `${tasks.join(', ')} in ` : ''}--filter ${filters.join(' ')}`,
      'check the task names (templates under workspaces.tasks) and the package names',
    );
  }
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
