/** Loads slipway.yml: YAML with positions -> schema validation -> semantic checks -> Pipeline. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type * as z from 'zod';
import { ConfigError, type Diagnostic, didYouMean } from './diagnostic.js';
import { pipelineSchema } from './schema.js';
import { schemaAt } from './schema-walk.js';
import { toTaskConfig } from './task-config.js';
import { DEFAULT_FILE, type Pipeline, type TaskConfig } from './types.js';
import { checkPipeline } from './validate.js';
import { expandWorkspaces } from './workspaces.js';
import { parseYamlSource, type YamlSource } from './yaml-source.js';
import { expectedName, issueHint, issueMessage } from './zod-messages.js';

/**
 * Loads and validates a pipeline file; throws ConfigError with located diagnostics. Every file
 * and folder it reads (the pipeline file, workspace manifests) is added to `reads`.
 */
export function loadPipeline(file: string = DEFAULT_FILE, reads?: Set<string>): Pipeline {
  const abs = path.resolve(file);
  reads?.add(abs);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError([
      {
        location: { file },
        message: code === 'ENOENT' ? 'no such file' : `cannot read the file (${code ?? String(e)})`,
        hint:
          code === 'ENOENT'
            ? `create ${DEFAULT_FILE} (slipway init writes one) or pass its path with -f/--file; without -f it is looked for here and in every folder above`
            : 'check the path and its permissions',
      },
    ]);
  }
  const display = path.relative(process.cwd(), abs) || abs;
  return parsePipeline(display, abs, text, reads);
}

/** Parses pipeline text; `display` is the file name shown in diagnostics. */
export function parsePipeline(display: string, abs: string, text: string, reads?: Set<string>): Pipeline {
  const src = parseYamlSource(display, text);
  if (src.errors.length) throw new ConfigError(src.errors, text);
  const data = src.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(
      [
        {
          location: src.locate([]),
          message: 'the pipeline file must be a mapping',
          hint: 'start with "version: 1" and a "tasks:" mapping',
        },
      ],
      text,
    );
  }
  // jitless: zod would otherwise compile a parser per object schema (new Function) for this one
  // parse, ~2-3 ms of a cold deploy's CPU whenever slipway.yml changed; same result either way.
  const parsed = pipelineSchema.safeParse(data, { error: issueMessage, jitless: true });
  if (!parsed.success) throw new ConfigError(zodDiagnostics(parsed.error.issues, src, data), text);
  const raw = parsed.data;
  const root = path.dirname(abs);

  const tasks = new Map<string, TaskConfig>();
  for (const [id, t] of Object.entries(raw.tasks)) tasks.set(id, toTaskConfig(id, t, root));
  const pipeline: Pipeline = {
    file: abs,
    root,
    name: raw.name ?? path.basename(root),
    concurrency: raw.concurrency,
    resources: raw.resources,
    env: raw.env,
    inputs: raw.inputs,
    tasks,
    raw,
    source: text,
    locate: src.locate,
  };
  // Workspace templates become tasks before dependencies are checked.
  const diags = expandWorkspaces(pipeline, reads);
  diags.push(...checkPipeline(pipeline));
  if (diags.length) throw new ConfigError(diags, text);
  return pipeline;
}

function zodDiagnostics(issues: readonly z.core.$ZodIssue[], src: YamlSource, data: unknown): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const issue of issues) {
    const p = issue.path.map((s) => (typeof s === 'symbol' ? String(s) : s));
    const where = p.length ? p.join('.') : 'the file';
    if (issue.code === 'unrecognized_keys') {
      const known = Object.keys(schemaAt(pipelineSchema, p) ?? {});
      for (const key of issue.keys) {
        const guess = didYouMean(key, known);
        out.push({
          location: src.locate([...p, key], 'key'),
          message: `unknown key "${key}"${p.length ? ` in ${where}` : ''}`,
          hint: guess ? `did you mean "${guess}"?` : `known keys: ${known.join(', ')}`,
        });
      }
      continue;
    }
    if (issue.code === 'invalid_type') {
      const value = valueAt(data, p);
      if (value === undefined) {
        const parent = p.slice(0, -1);
        out.push({
          location: src.locate(parent.length ? parent : p, 'key'),
          message: `missing required key "${String(p[p.length - 1])}" in ${parent.join('.') || 'the file'}`,
          hint: `add "${String(p[p.length - 1])}:" with a ${issue.expected}`,
        });
      } else {
        out.push({
          location: src.locate(p),
          message: `wrong type for ${where}: expected ${expectedName(issue.expected)}, got ${describe(value)}`,
          hint: hintForType(issue.expected),
        });
      }
      continue;
    }
    const hint = (issue as { params?: { hint?: string } }).params?.hint;
    out.push({
      location: src.locate(p, issue.code === 'invalid_key' ? 'key' : 'value'),
      message: `${where}: ${issue.message}`,
      hint: hint ?? issueHint(issue, valueAt(data, p)),
    });
  }
  return out;
}

function valueAt(data: unknown, p: readonly (string | number)[]): unknown {
  let v: unknown = data;
  for (const s of p) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[s];
  }
  return v;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function hintForType(expected: string): string {
  switch (expected) {
    case 'array':
      return 'write a list, e.g. [a, b] or one "- item" per line';
    case 'object':
    case 'record':
      return 'write a mapping of "key: value" lines, indented under this key';
    case 'number':
      return 'write a number without quotes';
    case 'int':
      return 'write a whole number without quotes, such as 0, 1 or 2';
    case 'boolean':
      return 'write true or false without quotes';
    default:
      return `write a ${expected}`;
  }
}
