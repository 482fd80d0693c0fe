/**
 * The one way a command turns the task names it was given into task ids: `run`, `plan`, `graph`
 * and `why` all resolve here, so a name one accepts every other accepts too. A name is a task id
 * (`lint`, `web#build`) or a workspace template name (`build`: every package's `build`, as in
 * turbo); `--filter` and `--affected` narrow to workspace packages (filter.ts), and so does
 * running inside a package's folder, as turbo does. An unknown name is a usage error with a
 * "did you mean".
 */
import path from 'node:path';
import { didYouMean } from '../config/diagnostic.js';
import type { Pipeline } from '../config/types.js';
import { type WorkspacePackage, workspaceOf } from '../config/workspace-model.js';
import { type ChangeReader, defaultAffectedBase } from '../util/git-changes.js';
import { UsageError } from '../util/usage-error.js';
import { filterTargets } from './filter.js';
import { TaskGraph } from './graph.js';

/** Beyond this many, the hint points at `slipway graph` instead of listing the tasks. */
const LIST_AT_MOST = 30;

export interface TargetOptions {
  /** `--filter` values (repeatable). */
  filters?: readonly string[];
  /** `--affected[=BASE]`: BASE, or '' for the default base (util/git-changes.ts). */
  affected?: string;
  /** The folder the command runs in: inside a workspace package, and without a filter, it scopes the command to that package. */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** How a git range is read (default: git in the pipeline's folder). */
  changes?: ChangeReader;
}

export interface Targets {
  ids: string[];
  /** What the user should be told about the selection (a package scope, what a git range changed). */
  notes: string[];
  /** Names, filters or a package scope narrowed the pipeline (else: every task). */
  narrowed: boolean;
}

/**
 * Task ids for `names` (ids or template names) narrowed by `--filter`, `--affected` or the
 * package the command runs in; nothing at all means every task. Throws a UsageError for a name
 * that is neither an id nor a template. A git range that changed nothing gives no ids.
 */
export function selectTargets(p: Pipeline, names: readonly string[], o: TargetOptions = {}): Targets {
  const byTemplate = templateIds(p);
  for (const n of names) if (!p.tasks.has(n) && !byTemplate.has(n)) throw unknownTask(p, n, byTemplate);
  const notes: string[] = [];
  const filters = o.filters ?? [];
  if (o.affected !== undefined) {
    const base = o.affected || defaultAffectedBase(p.root, o.env ?? {});
    const affectedNotes: string[] = [];
    const affected = filterTargets(p, [`...[${base}]`], names, { changes: o.changes, notes: affectedNotes });
    notes.push(
      ...affectedNotes.map((n) =>
        n.replace(/^--filter \S+?:/, `--affected (base ${base}, with dependents):`),
      ),
    );
    const within = filters.length
      ? new Set(filterTargets(p, filters, names, { changes: o.changes, notes }))
      : undefined;
    return { ids: within ? affected.filter((id) => within.has(id)) : affected, notes, narrowed: true };
  }
  if (filters.length)
    return { ids: filterTargets(p, filters, names, { changes: o.changes, notes }), notes, narrowed: true };
  const scope = o.cwd ? packageAt(p, o.cwd) : undefined;
  if (scope && (!names.length || names.some((n) => byTemplate.has(n) && !p.tasks.has(n)))) {
    return { ids: scoped(p, { pkg: scope, cwd: o.cwd! }, names, byTemplate, notes), notes, narrowed: true };
  }
  if (!names.length) return { ids: [...p.tasks.keys()], notes, narrowed: false };
  return {
    ids: [...new Set(names.flatMap((n) => (p.tasks.has(n) ? [n] : byTemplate.get(n)!)))],
    notes,
    narrowed: true,
  };
}

/** Task ids for `names` and `filters` (no package scope, no git): see selectTargets. */
export function resolveTargets(
  p: Pipeline,
  names: readonly string[],
  filters: readonly string[] = [],
): string[] {
  return selectTargets(p, names, { filters }).ids;
}

/** The graph a command works on: the targets `selectTargets` names and their dependencies. */
export function targetGraph(
  p: Pipeline,
  names: readonly string[],
  o: TargetOptions = {},
): { full: TaskGraph; graph: TaskGraph; notes: string[] } {
  const full = TaskGraph.fromPipeline(p);
  const t = selectTargets(p, names, o);
  return { full, graph: t.narrowed ? full.select(t.ids) : full, notes: t.notes };
}

/** The workspace package whose folder holds `cwd` (the deepest one), unless cwd is the root. */
function packageAt(p: Pipeline, cwd: string): WorkspacePackage | undefined {
  const ws = workspaceOf(p);
  if (!ws) return undefined;
  let best: WorkspacePackage | undefined;
  for (const pkg of ws.packages.values()) {
    if (pkg.dir === p.root) continue;
    const inside = cwd === pkg.dir || cwd.startsWith(`${pkg.dir}${path.sep}`);
    if (inside && (!best || pkg.dir.length > best.dir.length)) best = pkg;
  }
  return best;
}

/** Targets inside one package (the command runs in its folder): template names mean its tasks. */
function scoped(
  p: Pipeline,
  { pkg, cwd }: { pkg: WorkspacePackage; cwd: string },
  names: readonly string[],
  byTemplate: ReadonlyMap<string, string[]>,
  notes: string[],
): string[] {
  const own = [...p.tasks.values()].filter((t) => t.package === pkg.name).map((t) => t.id);
  const rel = path.relative(p.root, pkg.dir);
  const away = `run from ${path.relative(cwd, p.root) || '.'} (the pipeline's folder) or pass --filter to choose packages`;
  if (!own.length) throw new UsageError(`package ${pkg.name} (${rel}) has no tasks`, away);
  const ids = names.length
    ? names.map((n) => {
        if (p.tasks.has(n)) return n;
        const id = `${pkg.name}#${n}`;
        if (p.tasks.has(id)) return id;
        const elsewhere = byTemplate.get(n) ?? [];
        throw new UsageError(
          `package ${pkg.name} (${rel}) has no task "${n}"`,
          `${elsewhere.length} other package(s) have it; ${away}`,
        );
      })
    : own;
  notes.push(`in package ${pkg.name} (${rel}): only its tasks and what they need; ${away}`);
  return [...new Set(ids)];
}

/** Workspace template names (`build` of `web#build`) and the task ids each one expands to. */
function templateIds(p: Pipeline): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const t of p.tasks.values()) {
    if (!t.package || !t.id.startsWith(`${t.package}#`)) continue;
    const name = t.id.slice(t.package.length + 1);
    const ids = out.get(name);
    if (ids) ids.push(t.id);
    else out.set(name, [t.id]);
  }
  return out;
}

function unknownTask(p: Pipeline, name: string, byTemplate: ReadonlyMap<string, string[]>): UsageError {
  const known = [...byTemplate.keys(), ...p.tasks.keys()];
  const guess = didYouMean(name, known);
  if (guess) return new UsageError(`unknown task "${name}"`, `did you mean "${guess}"?`);
  const ids = [...p.tasks.keys()];
  const templates = byTemplate.size ? `; workspace templates: ${[...byTemplate.keys()].join(', ')}` : '';
  return new UsageError(
    `unknown task "${name}"`,
    ids.length <= LIST_AT_MOST
      ? `tasks: ${ids.join(', ')}${templates}`
      : `see "slipway graph --format json" for the ${ids.length} tasks${templates}`,
  );
}
