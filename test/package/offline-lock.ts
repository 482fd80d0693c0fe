/**
 * A package-lock.json for a project whose only dependency is the Slipway tarball, made from the
 * repository's own lockfile: Slipway's runtime dependencies (better-sqlite3, the optional pg)
 * and everything they need, at the versions this checkout installed. With it, `npm ci --offline`
 * installs the tarball without asking the registry anything: every package comes from npm's
 * cache, filled when this checkout was installed.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface LockEntry {
  version?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  [k: string]: unknown;
}

/** Where npm would find `name` from the package at `from` (nested first, then up to the top). */
function locate(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return undefined;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
}

/** The lockfile text for a project named `name` that depends on `tarball` (a path relative to it). */
export function offlineLock(o: {
  repoRoot: string;
  tarball: string;
  tarballFile: string;
  name: string;
}): string {
  const main = JSON.parse(readFileSync(path.join(o.repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const own = JSON.parse(readFileSync(path.join(o.repoRoot, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
    bin?: Record<string, string>;
    engines?: Record<string, string>;
    license?: string;
  };
  const integrity = `sha512-${createHash('sha512').update(readFileSync(o.tarballFile)).digest('base64')}`;
  const out: Record<string, LockEntry> = {
    '': { name: o.name, version: '1.0.0', dependencies: { [own.name]: `file:${o.tarball}` } },
    [`node_modules/${own.name}`]: {
      version: own.version,
      resolved: `file:${o.tarball}`,
      integrity,
      license: own.license,
      dependencies: own.dependencies,
      optionalDependencies: own.optionalDependencies,
      bin: own.bin,
      engines: own.engines,
    },
  };
  const optional = new Set(Object.keys(own.optionalDependencies ?? {}));
  const queue: { from: string; name: string; optional: boolean }[] = [
    ...Object.keys(own.dependencies ?? {}).map((name) => ({ from: '', name, optional: false })),
    ...[...optional].map((name) => ({ from: '', name, optional: true })),
  ];
  const required = new Set<string>();
  while (queue.length) {
    const { from, name, optional: opt } = queue.shift()!;
    const at = locate(main.packages, from, name);
    if (!at) throw new Error(`${name} (needed by ${from || 'slipway'}) is not in package-lock.json`);
    if (!opt) required.add(at);
    if (out[at]) continue;
    const { dev: _d, optional: _o, devOptional: _do, ...entry } = main.packages[at]!;
    out[at] = entry;
    const peers = Object.keys(entry.peerDependencies ?? {}).filter(
      (p) => !entry.peerDependenciesMeta?.[p]?.optional,
    );
    for (const dep of [...Object.keys(entry.dependencies ?? {}), ...peers])
      queue.push({ from: at, name: dep, optional: opt });
    for (const dep of Object.keys(entry.optionalDependencies ?? {}))
      queue.push({ from: at, name: dep, optional: true });
  }
  for (const [at, entry] of Object.entries(out))
    if (at && !required.has(at) && at !== `node_modules/${own.name}`) entry.optional = true;
  return `${JSON.stringify({ name: o.name, version: '1.0.0', lockfileVersion: 3, requires: true, packages: out }, null, 2)}\n`;
}
