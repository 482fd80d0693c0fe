/** What differs between two hash manifests of a task: the answer `slipway why` prints. */
import type { HashManifest } from './hash-manifest.js';
import type { InputList } from './inputs.js';

export interface FileDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

export interface ManifestDiff {
  command?: { from: string; to: string };
  cwd?: { from: string; to: string };
  files: FileDiff;
  env: FileDiff;
  secrets: { added: string[]; removed: string[] };
  outputs?: { from: string[]; to: string[] };
  deps: { id: string; from?: string; to?: string }[];
  globalEnv: FileDiff;
  globalFiles: FileDiff;
  platform?: { from: string; to: string };
}

function diffLists(from: InputList, to: InputList): FileDiff {
  const a = new Map(from);
  const b = new Map(to);
  const d: FileDiff = { added: [], removed: [], changed: [] };
  for (const [p, id] of b) {
    const old = a.get(p);
    if (old === undefined) d.added.push(p);
    else if (old !== id) d.changed.push(p);
  }
  for (const p of a.keys()) if (!b.has(p)) d.removed.push(p);
  return d;
}

const entries = (r: Record<string, string>): InputList => Object.entries(r);

/** Compares an older manifest with a newer one. */
export function diffManifests(from: HashManifest, to: HashManifest): ManifestDiff {
  const d: ManifestDiff = {
    files: diffLists(from.inputs, to.inputs),
    env: diffLists(entries(from.env), entries(to.env)),
    secrets: {
      added: to.secrets.filter((s) => !from.secrets.includes(s)),
      removed: from.secrets.filter((s) => !to.secrets.includes(s)),
    },
    deps: [],
    globalEnv: diffLists(entries(from.globalEnv), entries(to.globalEnv)),
    globalFiles: diffLists(from.globalInputs, to.globalInputs),
  };
  if (from.command !== to.command) d.command = { from: from.command, to: to.command };
  if (from.cwd !== to.cwd) d.cwd = { from: from.cwd, to: to.cwd };
  if (from.platform !== to.platform) d.platform = { from: from.platform, to: to.platform };
  if (JSON.stringify(from.outputs) !== JSON.stringify(to.outputs))
    d.outputs = { from: from.outputs, to: to.outputs };
  const a = new Map(from.deps);
  const b = new Map(to.deps);
  for (const id of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (a.get(id) !== b.get(id)) d.deps.push({ id, from: a.get(id), to: b.get(id) });
  }
  return d;
}

const empty = (f: FileDiff) => !f.added.length && !f.removed.length && !f.changed.length;

/** True when nothing differs (two hashes of equal manifests cannot differ, so this means "same"). */
export function isEmptyDiff(d: ManifestDiff): boolean {
  return (
    !d.command &&
    !d.cwd &&
    !d.platform &&
    !d.outputs &&
    !d.deps.length &&
    !d.secrets.added.length &&
    !d.secrets.removed.length &&
    empty(d.files) &&
    empty(d.env) &&
    empty(d.globalEnv) &&
    empty(d.globalFiles)
  );
}

const LIMIT = 20;
function list(items: string[]): string {
  const shown = items.slice(0, LIMIT).join(', ');
  return items.length > LIMIT ? `${shown} … and ${items.length - LIMIT} more` : shown;
}

/** Human-readable lines for a diff, each starting with `indent`. */
export function describeDiff(d: ManifestDiff, indent = '  '): string[] {
  const out: string[] = [];
  const files = (label: string, f: FileDiff) => {
    if (f.changed.length) out.push(`${indent}${label} changed: ${list(f.changed)}`);
    if (f.added.length) out.push(`${indent}${label} added: ${list(f.added)}`);
    if (f.removed.length) out.push(`${indent}${label} removed: ${list(f.removed)}`);
  };
  if (d.command)
    out.push(
      `${indent}command changed: ${JSON.stringify(d.command.from)} -> ${JSON.stringify(d.command.to)}`,
    );
  if (d.cwd) out.push(`${indent}cwd changed: ${d.cwd.from} -> ${d.cwd.to}`);
  files('files', d.files);
  files('env keys', d.env);
  if (d.secrets.added.length) out.push(`${indent}secret names added: ${list(d.secrets.added)}`);
  if (d.secrets.removed.length) out.push(`${indent}secret names removed: ${list(d.secrets.removed)}`);
  if (d.outputs)
    out.push(`${indent}outputs changed: [${d.outputs.from.join(', ')}] -> [${d.outputs.to.join(', ')}]`);
  files('pipeline env keys', d.globalEnv);
  files('pipeline inputs', d.globalFiles);
  if (d.platform) out.push(`${indent}platform changed: ${d.platform.from} -> ${d.platform.to}`);
  for (const dep of d.deps) {
    if (!dep.from) out.push(`${indent}dependency added: ${dep.id}`);
    else if (!dep.to) out.push(`${indent}dependency removed: ${dep.id}`);
    else
      out.push(`${indent}dependency ${dep.id} changed: ${dep.from.slice(0, 12)} -> ${dep.to.slice(0, 12)}`);
  }
  return out;
}
