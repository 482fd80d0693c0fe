/**
 * The module boundaries README's Architecture section promises, checked on the imports of every
 * source file: SQL only inside src/store/, nothing below the CLI imports it, config does not
 * import graph, no CLI command imports another command, and the folders of src/ import each
 * other without a cycle (type-only imports included: a cycle of types is a cycle of concepts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCycle } from '../../src/util/find-cycle.js';

const SRC = path.resolve(import.meta.dirname, '../../src');

interface Source {
  /** Path under src/, with forward slashes. */
  file: string;
  /** Module specifiers, relative ones resolved to paths under src/ (no extension). */
  imports: string[];
}

function sources(): Source[] {
  const out: Source[] = [];
  for (const entry of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    const abs = path.join(entry.parentPath, entry.name);
    const text = readFileSync(abs, 'utf8');
    const imports = [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map(([, spec]) =>
      spec!.startsWith('.')
        ? path
            .relative(SRC, path.resolve(path.dirname(abs), spec!))
            .replace(/\.js$/, '')
            .split(path.sep)
            .join('/')
        : spec!,
    );
    out.push({ file: path.relative(SRC, abs).split(path.sep).join('/'), imports });
  }
  return out;
}

const all = sources();
const offenders = (from: (f: string) => boolean, bad: (spec: string) => boolean) =>
  all.flatMap((s) => (from(s.file) ? s.imports.filter(bad).map((i) => `${s.file} -> ${i}`) : []));

describe('module boundaries', () => {
  it('finds the sources it checks', () => {
    expect(all.some((s) => s.file === 'store/store.ts')).toBe(true);
    expect(all.find((s) => s.file === 'store/sqlite.ts')?.imports).toContain('better-sqlite3');
  });

  it('keeps the database drivers and query builder inside src/store/', () => {
    const drivers = new Set(['kysely', 'pg', 'better-sqlite3']);
    expect(
      offenders(
        (f) => !f.startsWith('store/'),
        (i) => drivers.has(i),
      ),
    ).toEqual([]);
  });

  it('lets nothing outside src/cli/ import from it', () => {
    expect(
      offenders(
        (f) => !f.startsWith('cli/'),
        (i) => i.startsWith('cli/'),
      ),
    ).toEqual([]);
  });

  it('keeps config free of graph', () => {
    expect(
      offenders(
        (f) => f.startsWith('config/'),
        (i) => i.startsWith('graph/'),
      ),
    ).toEqual([]);
  });

  it('lets no CLI command import another command', () => {
    const registry = readFileSync(path.join(SRC, 'cli/commands.ts'), 'utf8');
    const commands = new Set(
      [...registry.matchAll(/import\('\.\/([\w-]+)\.js'\)/g)].map(([, name]) => `cli/${name}`),
    );
    expect(commands.size).toBeGreaterThan(5);
    expect(
      offenders(
        (f) => commands.has(f.replace(/\.ts$/, '')),
        (i) => commands.has(i),
      ),
    ).toEqual([]);
  });

  it('keeps the folders of src/ free of import cycles', () => {
    // A module is a folder of src/ (config, exec, deploy…); the files at its top (events.ts,
    // task-failure.ts…), the vocabulary every folder shares, count as one.
    const moduleOf = (file: string) => (file.includes('/') ? file.split('/')[0]! : '.');
    const edges = new Map<string, Set<string>>();
    for (const s of all) {
      const from = moduleOf(s.file);
      const to = edges.get(from) ?? new Set<string>();
      edges.set(from, to);
      for (const i of s.imports) {
        if (!all.some((t) => t.file === `${i}.ts`)) continue; // a package or node: module
        if (moduleOf(i) !== from) to.add(moduleOf(i));
      }
    }
    expect(edges.get('scale')).toContain('exec');
    expect(findCycle([...edges.keys()], (m) => [...(edges.get(m) ?? [])])).toBeUndefined();
  });
});
