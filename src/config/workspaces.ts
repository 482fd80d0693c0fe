/**
 * Monorepos: `workspaces:` task templates expanded per package as `<package>#<task>`, packages
 * from `workspaces.packages` or detected from npm/yarn (`package.json` workspaces) and pnpm
 * (`pnpm-workspace.yaml`); `needs: ["^build"]` means build of every workspace dependency.
 * Selection (`--filter`) lives in graph/filter.ts, which a cached pipeline can use without this.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { type Diagnostic, didYouMean } from './diagnostic.js';
import { taskSchema } from './schema.js';
import { toTaskConfig } from './task-config.js';
import type { Pipeline, TaskConfig } from './types.js';
import {
  rememberWorkspace,
  WORKSPACE_SKIP,
  type Workspace,
  type WorkspacePackage,
} from './workspace-model.js';
import { issueHint, issueMessage } from './zod-messages.js';

/** A workspace task template: a task whose `run:` may come from the package's scripts. */
export const templateSchema = taskSchema.extend({ run: z.string().min(1).optional() });

/** Finds package folders for `globs` (relative to root, `!` negates) that hold a package.json. */
function findPackageDirs(root: string, globs: readonly string[], reads?: Set<string>): string[] {
  const pos = globs.filter((g) => !g.startsWith('!')).map(clean);
  const neg = globs.filter((g) => g.startsWith('!')).map((g) => clean(g.slice(1)));
  if (!pos.length) return [];
  const yes = picomatch(pos);
  const no = neg.length ? picomatch(neg) : () => false;
  const deep = pos.some((g) => g.includes('**'));
  const maxDepth = deep ? 8 : Math.max(...pos.map((g) => g.split('/').length));
  const out: string[] = [];
  const visit = (rel: string, depth: number) => {
    if (depth > maxDepth) return;
    let names: string[];
    reads?.add(path.join(root, rel));
    try {
      names = readdirSync(path.join(root, rel), { withFileTypes: true })
        .filter((d) => d.isDirectory() && !WORKSPACE_SKIP.has(d.name))
        .map((d) => d.name)
        .sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = rel ? `${rel}/${n}` : n;
      if (yes(p) && !no(p) && exists(path.join(root, p, 'package.json'), reads)) out.push(p);
      visit(p, depth + 1);
    }
  };
  visit('', 1);
  return out;
}

function clean(g: string): string {
  return g.replace(/^\.\//, '').replace(/\/+$/, '');
}

/** Package globs declared by npm/yarn (package.json "workspaces") or pnpm (pnpm-workspace.yaml). */
function detectPackageGlobs(root: string, reads?: Set<string>): string[] | undefined {
  try {
    const file = path.join(root, 'pnpm-workspace.yaml');
    reads?.add(file);
    const doc = parseYaml(readFileSync(file, 'utf8')) as {
      packages?: unknown;
    };
    if (Array.isArray(doc?.packages)) return doc.packages.filter((x): x is string => typeof x === 'string');
  } catch {
    // No pnpm workspace; try package.json.
  }
  const pkg = readJson(path.join(root, 'package.json'), reads);
  const ws = pkg?.workspaces as unknown;
  if (Array.isArray(ws)) return ws.filter((x): x is string => typeof x === 'string');
  const nested = (ws as { packages?: unknown } | undefined)?.packages;
  if (Array.isArray(nested)) return nested.filter((x): x is string => typeof x === 'string');
  return undefined;
}

/** Reads a JSON file (undefined when absent or broken), noting it in `reads`. */
function readJson(file: string, reads?: Set<string>): Record<string, unknown> | undefined {
  reads?.add(file);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function exists(file: string, reads?: Set<string>): boolean {
  reads?.add(file);
  return existsSync(file);
}

function packageManager(root: string, reads?: Set<string>): Workspace['packageManager'] {
  const declared = readJson(path.join(root, 'package.json'), reads)?.packageManager;
  if (typeof declared === 'string') {
    const name = declared.split('@')[0];
    if (name === 'pnpm' || name === 'yarn' || name === 'npm') return name;
  }
  if (
    exists(path.join(root, 'pnpm-lock.yaml'), reads) ||
    exists(path.join(root, 'pnpm-workspace.yaml'), reads)
  )
    return 'pnpm';
  if (exists(path.join(root, 'yarn.lock'), reads)) return 'yarn';
  return 'npm';
}

/**
 * Reads the workspace's packages and their dependencies on each other; every file and folder
 * looked at goes into `reads` (what a pipeline snapshot must re-check).
 */
function loadWorkspace(
  root: string,
  globs: readonly string[],
  reads?: Set<string>,
): { ws: Workspace; dupes: string[] } {
  const packages = new Map<string, WorkspacePackage>();
  const dupes: string[] = [];
  const raw: { name: string; dir: string; all: string[]; scripts: Record<string, string> }[] = [];
  for (const rel of findPackageDirs(root, globs, reads)) {
    const pj = readJson(path.join(root, rel, 'package.json'), reads) ?? {};
    const name = typeof pj.name === 'string' && pj.name ? pj.name : path.posix.basename(rel);
    const all = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'].flatMap((k) =>
      Object.keys((pj[k] as Record<string, unknown> | undefined) ?? {}),
    );
    const scripts = Object.fromEntries(
      Object.entries((pj.scripts as Record<string, unknown> | undefined) ?? {}).filter(
        (e): e is [string, string] => typeof e[1] === 'string',
      ),
    );
    raw.push({ name, dir: path.join(root, rel), all, scripts });
  }
  const names = new Set(raw.map((r) => r.name));
  for (const r of raw) {
    if (packages.has(r.name)) dupes.push(r.name);
    const deps = [...new Set(r.all.filter((d) => names.has(d) && d !== r.name))].sort();
    packages.set(r.name, { name: r.name, dir: r.dir, deps, scripts: r.scripts });
  }
  return { ws: { packages, packageManager: packageManager(root, reads) }, dupes };
}

/** The expander the config loader calls: adds `<package>#<template>` tasks. */
export function expandWorkspaces(p: Pipeline, reads?: Set<string>): Diagnostic[] {
  const section = p.raw.workspaces;
  if (!section) return [];
  const at = (...rest: (string | number)[]) => p.locate(['workspaces', ...rest]);
  const globs = section.packages ?? detectPackageGlobs(p.root, reads);
  if (!globs) {
    return [
      {
        location: at(),
        message: 'no workspace packages: "workspaces.packages" is not set and none were detected',
        hint: 'add "packages: [packages/*]" or declare workspaces in package.json / pnpm-workspace.yaml',
      },
    ];
  }
  const { ws, dupes } = loadWorkspace(p.root, globs, reads);
  const diags: Diagnostic[] = dupes.map((name) => ({
    location: at('packages'),
    message: `two workspace packages are named "${name}"`,
    hint: 'give every package.json a unique "name"',
  }));
  if (!ws.packages.size) {
    diags.push({
      location: section.packages ? at('packages') : at(),
      message: `no package.json found under ${globs.join(', ')}`,
      hint: 'check the package globs (relative to the pipeline file), e.g. "packages/*"',
    });
  }
  rememberWorkspace(p, ws);

  const templates = new Map<string, z.output<typeof templateSchema>>();
  for (const [name, body] of Object.entries(section.tasks)) {
    // jitless: a handful of parses never repays compiling zod's fast parser (config/load.ts).
    const r = templateSchema.safeParse(body ?? {}, { error: issueMessage, jitless: true });
    if (r.success) templates.set(name, r.data);
    else diags.push(...templateDiagnostics(p, name, r.error.issues));
  }
  if (diags.length) return diags;

  // Pass 1: which (package, template) pairs exist; pass 2: resolve needs against them.
  const created: TaskConfig[] = [];
  for (const pkg of ws.packages.values()) {
    for (const [name, t] of templates) {
      const run = t.run ?? (pkg.scripts[name] !== undefined ? `${ws.packageManager} run ${name}` : undefined);
      if (!run) continue; // like turbo: a package without the script has no such task
      const id = `${pkg.name}#${name}`;
      if (p.tasks.has(id)) {
        diags.push({
          location: at('tasks', name),
          message: `template "${name}" creates "${id}", which tasks: already defines`,
          hint: 'rename the template or the task',
        });
        continue;
      }
      created.push(toTaskConfig(id, { ...t, run }, pkg.dir, pkg.name));
    }
  }
  const ids = new Set([...p.tasks.keys(), ...created.map((t) => t.id)]);
  for (const task of created) {
    const pkg = ws.packages.get(task.package as string) as WorkspacePackage;
    const tmpl = task.id.slice(pkg.name.length + 1);
    const needs = new Set<string>();
    task.needs.forEach((n, i) => {
      const resolved = resolveNeed(n, pkg, templates, ids);
      if (typeof resolved === 'string') {
        diags.push({
          location: at('tasks', tmpl, 'needs', i),
          message: resolved,
          hint: needHint(n, templates, p),
        });
      } else for (const r of resolved) needs.add(r);
    });
    task.needs = [...needs];
    p.tasks.set(task.id, task);
  }
  return dedupe(diags);
}

function resolveNeed(
  n: string,
  pkg: WorkspacePackage,
  templates: ReadonlyMap<string, unknown>,
  ids: ReadonlySet<string>,
): string[] | string {
  if (n.startsWith('^')) {
    const name = n.slice(1);
    if (!templates.has(name)) return `"${n}" names no workspace task template "${name}"`;
    return pkg.deps.map((d) => `${d}#${name}`).filter((id) => ids.has(id));
  }
  if (templates.has(n)) return ids.has(`${pkg.name}#${n}`) ? [`${pkg.name}#${n}`] : [];
  if (ids.has(n)) return [n];
  return `unknown task "${n}"`;
}

function needHint(n: string, templates: ReadonlyMap<string, unknown>, p: Pipeline): string {
  const guess = didYouMean(n.replace(/^\^/, ''), [...templates.keys(), ...p.tasks.keys()]);
  if (guess) return `did you mean "${n.startsWith('^') ? '^' : ''}${guess}"?`;
  return 'use a template name (same package), "^name" (workspace dependencies) or a task id from tasks:';
}

function templateDiagnostics(p: Pipeline, name: string, issues: readonly z.core.$ZodIssue[]): Diagnostic[] {
  const known = Object.keys(templateSchema.shape);
  return issues.flatMap((issue) => {
    const sub = issue.path.map((s) => (typeof s === 'symbol' ? String(s) : s));
    const where = ['workspaces', 'tasks', name, ...sub];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const guess = didYouMean(key, known);
        return {
          location: p.locate([...where, key], 'key'),
          message: `unknown key "${key}" in workspaces.tasks.${name}`,
          hint: guess ? `did you mean "${guess}"?` : `known keys: ${known.join(', ')}`,
        };
      });
    }
    const hint = (issue as { params?: { hint?: string } }).params?.hint;
    return [
      {
        location: p.locate(where, issue.code === 'invalid_key' ? 'key' : 'value'),
        message: `${where.join('.')}: ${issue.message}`,
        hint: hint ?? issueHint(issue, undefined),
      },
    ];
  });
}

function dedupe(diags: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diags.filter((d) => {
    const k = `${JSON.stringify(d.location)}${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * The workspace at `root` as npm, yarn or pnpm declare it (for `slipway init`), with the globs it
 * was found by; undefined when the folder declares no workspaces.
 */
export function detectWorkspace(root: string): { globs: string[]; ws: Workspace } | undefined {
  const globs = detectPackageGlobs(root);
  if (!globs) return undefined;
  return { globs, ws: loadWorkspace(root, globs).ws };
}
