/** Workspaces: template expansion per package, `^build`, detection, diagnostics, `--filter`. */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/context.js';
import { ConfigError } from '../../src/config/diagnostic.js';
import { loadPipeline } from '../../src/config/load.js';
import { filterTargets } from '../../src/graph/filter.js';
import { resolveTargets } from '../../src/graph/targets.js';
import { readSummary, type Workspace, workspace } from '../helpers/cli.js';
import { gitRepo } from './fixture.js';

const made: Workspace[] = [];
afterAll(() => {
  for (const w of made) w.cleanup();
});

const YML = `version: 1
workspaces:
  tasks:
    build:
      needs: ["^build"]
      outputs: ["dist/**"]
    test:
      run: echo testing
      needs: [build]
`;

/** a <- b <- c (b depends on a, c on b); d has no build script. */
function monorepo(kind: 'npm' | 'pnpm' | 'yarn' | 'explicit', yml = YML): Workspace {
  const w = workspace(
    kind === 'explicit' ? yml.replace('workspaces:\n', 'workspaces:\n  packages: ["libs/*"]\n') : yml,
  );
  made.push(w);
  const dir = kind === 'explicit' ? 'libs' : 'packages';
  const root: Record<string, unknown> = { name: 'root', private: true };
  if (kind === 'npm') root.workspaces = ['packages/*'];
  if (kind === 'yarn') root.workspaces = { packages: ['packages/*'] };
  if (kind === 'pnpm') w.write('pnpm-workspace.yaml', 'packages:\n  - "packages/*"\n');
  if (kind === 'yarn') root.packageManager = 'yarn@4.5.0';
  w.write('package.json', JSON.stringify(root));
  const pkg = (name: string, deps: Record<string, string>, build = true) =>
    w.write(
      `${dir}/${name}/package.json`,
      JSON.stringify({
        name: `@x/${name}`,
        dependencies: deps,
        scripts: build ? { build: `mkdir -p dist && cat src/* > dist/out.txt && echo built ${name}` } : {},
      }),
    );
  pkg('a', { lodash: '^4' });
  pkg('b', { '@x/a': '*' });
  pkg('c', { '@x/b': 'workspace:*' });
  pkg('d', {}, false);
  for (const n of ['a', 'b', 'c', 'd']) w.write(`${dir}/${n}/src/index.js`, `${n}\n`);
  w.write('.gitignore', 'dist/\n.slipway/\n*.json\n!package.json\n');
  return w;
}

const load = (w: Workspace) => loadPipeline(w.path('slipway.yml'));

describe('workspace expansion', () => {
  it.each(['npm', 'yarn', 'pnpm', 'explicit'] as const)(
    'expands templates per %s package with ^build',
    (kind) => {
      const w = monorepo(kind);
      const p = load(w);
      expect([...p.tasks.keys()].sort()).toEqual(
        ['@x/a#build', '@x/a#test', '@x/b#build', '@x/b#test', '@x/c#build', '@x/c#test', '@x/d#test'].sort(),
      );
      expect(p.tasks.get('@x/a#build')?.needs).toEqual([]);
      expect(p.tasks.get('@x/b#build')?.needs).toEqual(['@x/a#build']);
      expect(p.tasks.get('@x/c#build')?.needs).toEqual(['@x/b#build']);
      expect(p.tasks.get('@x/c#test')?.needs).toEqual(['@x/c#build']);
      expect(p.tasks.get('@x/d#test')?.needs).toEqual([]);
      const b = p.tasks.get('@x/b#build');
      expect(b?.run).toBe(`${kind === 'explicit' ? 'npm' : kind} run build`);
      expect(b?.cwd).toBe(w.path(kind === 'explicit' ? 'libs' : 'packages', 'b'));
      expect(b?.package).toBe('@x/b');
    },
  );

  it('reports template mistakes with their location', () => {
    const diagnostics = (extra: string) => {
      try {
        load(monorepo('npm', `${YML}${extra}`));
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).diagnostics;
      }
      throw new Error('expected a ConfigError');
    };
    const [unknownKey] = diagnostics('    lint:\n      run: eslint .\n      outptus: [x]\n');
    expect(unknownKey?.message).toMatch(/unknown key "outptus" in workspaces.tasks.lint/);
    expect(unknownKey?.hint).toMatch(/did you mean "outputs"/);
    expect(unknownKey?.location).toMatchObject({ line: 12, col: 7 });
    const [badNeed] = diagnostics('    lint:\n      run: eslint .\n      needs: ["^bild"]\n');
    expect(badNeed?.message).toMatch(/"\^bild" names no workspace task template/);
    expect(badNeed?.hint).toMatch(/did you mean "\^build"/);
    expect(badNeed?.location).toMatchObject({ line: 12 });
  });

  it('selects packages with --filter', () => {
    const p = load(monorepo('npm'));
    const sorted = (xs: string[]) => [...xs].sort();
    expect(sorted(filterTargets(p, ['@x/b'], ['build']))).toEqual(['@x/b#build']);
    expect(sorted(filterTargets(p, ['@x/c...'], ['build']))).toEqual([
      '@x/a#build',
      '@x/b#build',
      '@x/c#build',
    ]);
    expect(sorted(filterTargets(p, ['...@x/b'], ['build']))).toEqual(['@x/b#build', '@x/c#build']);
    expect(sorted(filterTargets(p, ['./packages/d']))).toEqual(['@x/d#test']);
    expect(sorted(filterTargets(p, ['@x/*'], ['test'])).length).toBe(4);
    expect(() => filterTargets(p, ['@x/nope'])).toThrow(UsageError);
    expect(sorted(resolveTargets(p, ['build']))).toEqual(['@x/a#build', '@x/b#build', '@x/c#build']);
  });

  it('resolves task names one way: ids, template names, --filter, did you mean', () => {
    const p = load(monorepo('npm'));
    const sorted = (xs: string[]) => [...xs].sort();
    expect(sorted(resolveTargets(p, []))).toEqual(sorted([...p.tasks.keys()]));
    expect(resolveTargets(p, ['@x/b#build', 'build', '@x/b#build']).sort()).toEqual([
      '@x/a#build',
      '@x/b#build',
      '@x/c#build',
    ]);
    expect(resolveTargets(p, ['test'], ['@x/d'])).toEqual(['@x/d#test']);
    expect(sorted(resolveTargets(p, [], ['@x/a']))).toEqual(['@x/a#build', '@x/a#test']);
    const error = (names: string[], filters: string[] = []) => {
      try {
        resolveTargets(p, names, filters);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return e as UsageError;
      }
      throw new Error('expected a UsageError');
    };
    expect(error(['biuld'])).toMatchObject({
      message: 'unknown task "biuld"',
      hint: 'did you mean "build"?',
    });
    expect(error(['@x/c#tset']).hint).toBe('did you mean "@x/c#test"?');
    // Names are checked before filters narrow them.
    expect(error(['tset'], ['@x/a']).hint).toBe('did you mean "test"?');
    expect(error(['qqqqqqqqqq']).hint).toMatch(/^tasks: @x\/a#build, .*; workspace templates: build, test$/);
  });
});

describe('workspace runs', () => {
  it('runs a filtered build with its dependencies, caches it, and reruns dependents of an edit', async () => {
    const w = monorepo('npm');
    gitRepo(w);
    const r = await w.run(['run', 'build', '--filter', '@x/b', '--summary', 'summary.json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const first = readSummary(w);
    expect(first.tasks.map((t) => t.id).sort()).toEqual(['@x/a#build', '@x/b#build']);
    expect(w.read(path.join('packages/b/dist/out.txt'))).toBe('b\n');

    await w.run(['run', 'build', '--summary', 'summary.json']);
    const all = readSummary(w);
    expect(Object.fromEntries(all.tasks.map((t) => [t.id, t.cache]))).toEqual({
      '@x/a#build': 'hit-local',
      '@x/b#build': 'hit-local',
      '@x/c#build': 'miss',
    });

    w.write('packages/b/src/index.js', 'b2\n');
    await w.run(['run', 'build', '--summary', 'summary.json']);
    const edited = readSummary(w);
    expect(Object.fromEntries(edited.tasks.map((t) => [t.id, t.cache]))).toEqual({
      '@x/a#build': 'hit-local',
      '@x/b#build': 'miss',
      '@x/c#build': 'miss',
    });
    const why = await w.run(['why', '@x/c#build']);
    expect(why.stdout).toMatch(/@x\/b#build changed because:\n\s+files changed: src\/index\.js/);
  });
});
