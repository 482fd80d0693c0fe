/**
 * The JSON Schema of slipway.yml, generated from the zod schema that validates it (so the two
 * cannot drift): editors use it for completion and squiggles (`# yaml-language-server: $schema=`
 * or a `$schema:` key). It describes what the file may contain as written (durations as
 * "90s" or seconds, sizes as "2GiB" or bytes); checks across keys (cycles, unknown
 * dependencies, outputs that leave the task's folder, a task larger than the pool) stay with
 * `slipway validate`. The build writes it to dist/slipway.schema.json (scripts/json-schema.mjs).
 */
import * as z from 'zod';
import { pipelineSchema, taskSchema } from './schema.js';
import { templateSchema } from './workspaces.js';

type Json = Record<string, unknown>;

const TOP: Record<string, string> = {
  $schema: 'The JSON Schema for this file (editors only; Slipway ignores it)',
  version: 'File format version (1)',
  name: "Pipeline name in history (default: the folder's name)",
  concurrency: 'Tasks running at once (default: CPU cores; -c overrides it)',
  resources: 'The pool tasks are packed into: { cpu, memory }',
  env: "Environment for every task; part of every task's hash",
  inputs: "Files every task's hash depends on (globs), e.g. the lockfile",
  tasks: 'Tasks by id',
  budgets: 'Time budgets `slipway check` enforces: { run, tasks: { id: duration } }',
  slis: 'Service level indicators for `slipway report`',
  cache: 'Local cache folder and size, and a Turborepo-compatible remote cache',
  workspaces: 'Task templates run in every workspace package, as <package>#<task>',
  environments: 'Deployment environments for `slipway deploy`',
  scaleOut: 'Scale-out: { queue: "redis://HOST:PORT" } hands tasks to `slipway worker`s (as run --queue)',
};

const TASK: Record<string, string> = {
  run: 'The command, run by /bin/sh -c in `cwd`',
  description: 'What the task does (shown in plans and reports)',
  cwd: "Working directory, relative to the pipeline file (default: the file's folder)",
  needs: 'Tasks that must succeed first; "^build" in workspaces: build of every dependency package',
  inputs: "Globs the hash reads, relative to cwd (default: git-tracked files under cwd); '!' excludes",
  outputs: "Globs the cache stores and restores, inside the task's folder, e.g. dist/**",
  env: 'Environment for this task; part of its hash',
  secrets: 'Variables passed through from the environment, hashed by name only, *** in logs',
  resources: 'Request: { cpu, memory } (default: learned from history)',
  timeout: 'Kills the whole process tree: "500ms", "90s", "10m", "1h30m" or seconds',
  retries: 'Extra attempts after a failure',
  cache: 'Cache this task (default true; false for side effects such as deploys)',
  tags: 'Groups for reports: build, test, deploy, validate',
};

function describe(props: unknown, text: Record<string, string>): void {
  if (!props || typeof props !== 'object') return;
  for (const [key, d] of Object.entries(text)) {
    const p = (props as Record<string, Json>)[key];
    if (p) p.description = d;
  }
}

/** zod names some checks as formats JSON Schema does not have; their `pattern` says it all. */
const ZOD_ONLY_FORMATS = new Set(['starts_with', 'ends_with', 'includes', 'regex']);

function toJson(schema: z.ZodType): Json {
  return z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    override: ({ jsonSchema }) => {
      const j = jsonSchema as Json;
      if (typeof j.format === 'string' && ZOD_ONLY_FORMATS.has(j.format) && j.pattern) delete j.format;
    },
  }) as Json;
}

/** The JSON Schema (draft 2020-12) of slipway.yml. */
export function pipelineJsonSchema(): Json {
  const root = toJson(pipelineSchema);
  const props = root.properties as Record<string, Json>;
  const task = toJson(taskSchema);
  delete task.$schema;
  describe(task.properties, TASK);
  (props.tasks as Json).additionalProperties = task;
  // Templates are checked when expanded (with the package in the message); editors check them here.
  const template = toJson(templateSchema);
  delete template.$schema;
  describe(template.properties, TASK);
  const ws = props.workspaces as { properties: Record<string, Json> };
  (ws.properties.tasks as Json).additionalProperties = template;
  describe(props, TOP);
  return {
    $schema: root.$schema,
    title: 'slipway.yml',
    description: 'A Slipway pipeline: tasks, caching, budgets, workspaces and deployments',
    ...root,
  };
}
