/** Directory walks and glob sets: how inputs (outside git) and outputs are enumerated. */
import { type Dirent, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { STATE_DIR_NAME } from '../state/paths.js';

export type EntryKind = 'file' | 'dir' | 'symlink';

export interface WalkEntry {
  /** Relative to the walk's root, forward slashes. */
  path: string;
  kind: EntryKind;
}

/** Folders a default input walk never enters (outside git, where .gitignore cannot tell us). */
export const SKIP_DIRS = new Set(['.git', STATE_DIR_NAME, 'node_modules', '.turbo', '.hg', '.svn']);

function kindOf(d: Dirent): EntryKind | undefined {
  if (d.isSymbolicLink()) return 'symlink';
  if (d.isDirectory()) return 'dir';
  if (d.isFile()) return 'file';
  return undefined; // sockets, fifos, devices: never cached
}

/** Lists everything under `root/start` (depth first, sorted); `skip` names are not entered. */
export function walk(root: string, start = '', skip?: ReadonlySet<string>): WalkEntry[] {
  const out: WalkEntry[] = [];
  const visit = (rel: string): void => {
    let items: Dirent[];
    try {
      items = readdirSync(rel ? path.join(root, rel) : root, { withFileTypes: true });
    } catch {
      return;
    }
    items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of items) {
      const kind = kindOf(d);
      if (!kind) continue;
      const p = rel ? `${rel}/${d.name}` : d.name;
      if (kind === 'dir' && skip?.has(d.name)) continue;
      out.push({ path: p, kind });
      if (kind === 'dir') visit(p);
    }
  };
  visit(start);
  return out;
}

/** A set of globs with `!negations`; a literal pattern also matches everything below it. */
export interface GlobSet {
  /** Static folders (relative, '' = the root itself) that contain every possible match. */
  bases: string[];
  match(rel: string): boolean;
}

const compiled = new Map<string, GlobSet>();

/** Compiles globs relative to one folder (memoised: templates repeat the same globs per package). */
export function globSet(patterns: readonly string[]): GlobSet {
  const key = patterns.join('\0');
  let g = compiled.get(key);
  if (!g) {
    g = compileGlobs(patterns);
    compiled.set(key, g);
  }
  return g;
}

function compileGlobs(patterns: readonly string[]): GlobSet {
  const pos: string[] = [];
  const neg: string[] = [];
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const p = normalizeGlob(negated ? raw.slice(1) : raw);
    const list = negated ? neg : pos;
    list.push(p);
    if (!picomatch.scan(p).isGlob) list.push(`${p}/**`);
  }
  const opts = { dot: true };
  const yes = pos.length ? picomatch(pos, opts) : () => false;
  const no = neg.length ? picomatch(neg, opts) : () => false;
  const bases = [...new Set(pos.map((p) => staticBase(p)))].sort();
  // A base inside another base adds nothing but a second walk.
  const minimal = bases.filter((b) => !bases.some((o) => o !== b && (o === '' || b.startsWith(`${o}/`))));
  // Every match lies under a base: a path outside them all is rejected without the matcher.
  const under = minimal.includes('')
    ? () => true
    : (rel: string) =>
        minimal.some((b) => rel === b || (rel.startsWith(b) && rel.charCodeAt(b.length) === 47));
  return { bases: minimal, match: (rel) => under(rel) && yes(rel) && !no(rel) };
}

function normalizeGlob(p: string): string {
  let s = p.replace(/\\/g, '/');
  while (s.startsWith('./')) s = s.slice(2);
  if (s.endsWith('/')) s = `${s}**`;
  return s === '' || s === '.' ? '**' : s;
}

function staticBase(p: string): string {
  const scan = picomatch.scan(p);
  const base = scan.isGlob ? scan.base : p;
  return base === '.' ? '' : base.replace(/\/+$/, '');
}

/**
 * Everything under `root` that matches `globs` (files, symlinks and matching folders), sorted.
 * Used for outputs: nothing is skipped, because outputs may live anywhere the task writes.
 * `watch` receives every folder looked into.
 */
export function collectMatches(root: string, globs: GlobSet, watch?: string[]): WalkEntry[] {
  const seen = new Map<string, WalkEntry>();
  for (const base of globs.bases) {
    if (base.startsWith('..')) continue;
    // Every folder looked into (and every base, present or not): a change to what any of them
    // contains changes its mtime, which is how unchanged outputs are recognised without a walk.
    watch?.push(base);
    let kind: EntryKind | undefined;
    if (base === '') kind = 'dir';
    else if (underSymlink(root, base)) {
      // `dist/sub/**` with `dist` a symlink would list (and a restore delete) files elsewhere.
      continue;
    } else {
      try {
        const st = lstatSync(path.join(root, base));
        kind = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : undefined;
      } catch {
        continue;
      }
    }
    if (!kind) continue;
    if (base !== '' && globs.match(base)) seen.set(base, { path: base, kind });
    if (kind !== 'dir') continue;
    const prefix = base === '' ? '' : base;
    for (const e of walk(root, prefix)) {
      if (e.kind === 'dir') watch?.push(e.path);
      if (globs.match(e.path)) seen.set(e.path, e);
    }
  }
  return [...seen.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** True when a folder on the way from `root` to `rel` (not `rel` itself) is a symlink. */
function underSymlink(root: string, rel: string): boolean {
  for (let i = rel.indexOf('/'); i !== -1; i = rel.indexOf('/', i + 1)) {
    try {
      if (lstatSync(path.join(root, rel.slice(0, i))).isSymbolicLink()) return true;
    } catch {
      return false;
    }
  }
  return false;
}
