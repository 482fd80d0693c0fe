/**
 * The one way a command turns the task names it was given into task ids: `run`, `plan`, `graph`
 * and `why` all resolve here, so a name one accepts every other accepts too. A name is a task id
 * (`lint`, `web#build`) or a workspace template name (`build`: every package's `build`, as in
 * turbo); `--filter` narrows to workspace packages (workspace.ts). An unknown name is a usage
 * error with a "did you mean".
 */
import { didYouMean } from '../config/diagnostic.js';
import type { Pipeline } from '../config/types.js';
import { UsageError } from '../util/usage-error.js';
import { filterTargets } from './filter.js';
import { TaskGraph } from './graph.js';

/** Beyond this many, the hint points at `slipway graph` instead of listing the tasks. */
const LIST_AT_MOST = 30;

/**
 * Task ids for `names` (ids or template names) and `filters` (`--filter`, repeatable); no names
 * and no filters mean every task. Throws a UsageError for a name that is neither.
 */
export function resolveTargets(
  p: Pipeline,
  names: readonly string[],
  filters: readonly string[] = [],
): string[] {
  const byTemplate = templateIds(p);
  for (const n of names) if (!p.tasks.has(n) && !byTemplate.has(n)) throw unknownTask(p, n, byTemplate);
  if (filters.length) return filterTargets(p, filters, names);
  if (!names.length) return [...p.tasks.keys()];
  return [...new Set(names.flatMap((n) => (p.tasks.has(n) ? [n] : byTemplate.get(n)!)))];
}

/** The graph a command works on: the targets `resolveTargets` names and their dependencies. */
export function targetGraph(
  p: Pipeline,
  names: readonly string[],
  filters: readonly string[] = [],
): { full: TaskGraph; graph: TaskGraph } {
  const full = TaskGraph.fromPipeline(p);
  const targets = resolveTargets(p, names, filters);
  return { full, graph: names.length || filters.length ? full.select(targets) : full };
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
