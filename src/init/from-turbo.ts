/**
 * `slipway init --from-turbo`: turbo.json (`tasks`, or turbo 1's `pipeline`) as workspace
 * templates. What maps: `dependsOn` (`^build`, `build`, `pkg#build`), `outputs`, `inputs`
 * (`$TURBO_DEFAULT$` as `**`), `cache: false`, `globalDependencies`. What maps with a
 * difference, said in the report: `env`/`globalEnv` names become `secrets:` (passed through
 * and hashed by name, not by value). What does not map is reported, never dropped silently:
 * persistent tasks, env wildcards, package-specific overrides, and keys with no counterpart.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { OUTPUT_LOGS, type OutputLogs } from '../config/types.js';
import { UsageError } from '../util/usage-error.js';
import type { InitPlan, InitTask } from './plan.js';
import { planFromProject } from './project.js';

interface TurboTask {
  dependsOn?: unknown;
  outputs?: unknown;
  inputs?: unknown;
  env?: unknown;
  passThroughEnv?: unknown;
  cache?: unknown;
  persistent?: unknown;
  [k: string]: unknown;
}

/** Keys of a turbo task with a Slipway counterpart (the rest are reported). */
const TASK_KEYS = new Set([
  'dependsOn',
  'outputs',
  'inputs',
  'env',
  'cache',
  'persistent',
  'passThroughEnv',
  'outputLogs',
]);
/** Top-level keys handled here or that need nothing (the rest are reported). */
const TOP_KEYS = new Set([
  '$schema',
  'tasks',
  'pipeline',
  'globalDependencies',
  'globalEnv',
  'globalPassThroughEnv',
]);

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

/** Reads turbo.json (or turbo.jsonc: JSON with comments, which YAML also reads) from `dir`. */
function readTurboJson(dir: string): { file: string; data: Record<string, unknown> } {
  for (const name of ['turbo.json', 'turbo.jsonc']) {
    const file = path.join(dir, name);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    // JSONC comments are not YAML; strip // and /* */ comments outside strings.
    const stripped = text.replace(
      /("(?:\\.|[^"\\])*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g,
      (_m, s: string) => s ?? '',
    );
    try {
      const data = parseYaml(stripped) as unknown;
      if (data && typeof data === 'object' && !Array.isArray(data))
        return { file: name, data: data as Record<string, unknown> };
      throw new Error('not an object');
    } catch (e) {
      throw new UsageError(
        `${name} cannot be read: ${(e as Error).message.split('\n')[0]}`,
        'fix the JSON, then run slipway init --from-turbo again',
      );
    }
  }
  throw new UsageError(
    'no turbo.json in this folder',
    'run slipway init --from-turbo in the folder that holds turbo.json, or leave out --from-turbo',
  );
}

/** Environment variable names: literal names become secrets, patterns are reported. */
function envNames(names: string[], where: string, report: string[]): string[] {
  const literal = names.filter((n) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(n));
  const patterns = names.filter((n) => !literal.includes(n));
  if (patterns.length)
    report.push(
      `${where}: ${patterns.join(', ')}: patterns and exclusions of variable names have no counterpart; tasks see the whole environment`,
    );
  return literal;
}

function convertTask(name: string, t: TurboTask, report: string[]): InitTask | undefined {
  for (const k of Object.keys(t))
    if (!TASK_KEYS.has(k)) report.push(`${name}: "${k}" has no counterpart in slipway.yml`);
  if (t.persistent === true) {
    report.push(
      `${name}: persistent (a server or watcher that never ends) is not a pipeline task; left out, run it directly`,
    );
    return undefined;
  }
  const task: InitTask = {};
  const needs = strings(t.dependsOn).filter((d) => {
    if (d.startsWith('$'))
      report.push(`${name}: dependsOn "${d}" (environment dependencies are turbo 1 syntax; use env)`);
    return !d.startsWith('$');
  });
  // turbo's "//#x" is a root task; our root tasks keep turbo's id.
  if (needs.length) task.needs = needs;
  const outputs = strings(t.outputs);
  if (outputs.length) task.outputs = outputs;
  const inputs = strings(t.inputs);
  if (inputs.length) {
    task.inputs = inputs.map((i) => (i === '$TURBO_DEFAULT$' ? '**' : i));
    for (const i of inputs.filter((x) => x.startsWith('$TURBO_ROOT$')))
      report.push(`${name}: input "${i}": write the path relative to the package instead of $TURBO_ROOT$`);
    task.inputs = task.inputs.filter((i) => !i.startsWith('$TURBO_ROOT$'));
    if (!task.inputs.length) delete task.inputs;
  }
  const env = envNames(strings(t.env), `${name}: env`, report);
  if (env.length) {
    task.secrets = env;
    report.push(
      `${name}: env ${env.join(', ')} became secrets: passed through and hashed by name only, so a changed value does not miss the cache (write fixed values under env: to hash them)`,
    );
  }
  if (strings(t.passThroughEnv).length)
    report.push(`${name}: passThroughEnv is not needed: tasks see the whole environment`);
  if (t.cache === false) task.cache = false;
  // turbo's outputLogs values are Slipway's (`--output-logs`); turbo 1's false/true are not.
  if ((OUTPUT_LOGS as readonly unknown[]).includes(t.outputLogs))
    task.outputLogs = t.outputLogs as OutputLogs;
  else if (t.outputLogs !== undefined)
    report.push(
      `${name}: outputLogs ${JSON.stringify(t.outputLogs)} is not one of ${OUTPUT_LOGS.join(', ')}`,
    );
  return task;
}

/** A plan from turbo.json in `dir`, on top of what the folder itself shows (name, lockfile). */
export function planFromTurbo(dir: string): { plan: InitPlan; file: string } {
  const { file, data } = readTurboJson(dir);
  const base = planFromProject(dir);
  const report: string[] = [];
  const plan: InitPlan = { ...base, templates: new Map(), tasks: new Map(), notes: [], unconverted: report };
  for (const k of Object.keys(data))
    if (!TOP_KEYS.has(k)) report.push(`"${k}" has no counterpart in slipway.yml`);
  const deps = strings(data.globalDependencies);
  if (deps.length) plan.inputs = [...new Set([...plan.inputs, ...deps])];
  const globalEnv = envNames(strings(data.globalEnv), 'globalEnv', report);
  if (globalEnv.length)
    report.push(
      `globalEnv ${globalEnv.join(', ')}: added to every task's secrets (hashed by name only, not by value)`,
    );
  const tasks = (data.tasks ?? data.pipeline ?? {}) as Record<string, TurboTask>;
  const generic = new Set(Object.keys(tasks).filter((k) => !k.includes('#')));
  for (const [key, raw] of Object.entries(tasks)) {
    const t = raw && typeof raw === 'object' ? raw : {};
    if (key.startsWith('//#')) {
      const task = convertTask(key, t, report);
      if (task)
        plan.tasks.set(key, {
          ...task,
          run: `${plan.packageManager} run ${key.slice(3)}`,
          comment: 'a root task',
        });
      continue;
    }
    if (key.includes('#')) {
      report.push(
        `${key}: settings for one package${generic.has(key.split('#')[1] ?? '') ? ' over the generic task' : ''} have no counterpart (templates apply to every package); merge them into the template or a task of its own`,
      );
      continue;
    }
    const task = convertTask(key, t, report);
    if (task) plan.templates.set(key, task);
  }
  if (globalEnv.length) {
    for (const t of [...plan.templates.values(), ...plan.tasks.values()])
      t.secrets = [...new Set([...globalEnv, ...(t.secrets ?? [])])];
  }
  if (!plan.workspace && plan.templates.size)
    report.push(
      'no npm, yarn or pnpm workspace was found: the templates run in no package until one is declared',
    );
  // A workspace template needs a workspace section even with no packages yet.
  plan.workspace ??= { source: 'nothing (no workspaces declared)', globs: [], packages: 0 };
  return { plan, file };
}
