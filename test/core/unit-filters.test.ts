/**
 * Target selection against a real git history (a temporary repository with commits): each
 * `--filter` form (`[REF]`, `[A...B]`, `...[REF]`, `[REF]...`, `...^[REF]`, `name[REF]`, `!name`),
 * `--affected[=BASE]` and its default base, and the package scope of a command run inside a
 * package's folder. In process: the pipeline is loaded and resolved here; only git runs outside.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadPipeline } from '../../src/config/load.js';
import type { Pipeline } from '../../src/config/types.js';
import { selectTargets, type TargetOptions } from '../../src/graph/targets.js';
import { UsageError } from '../../src/util/usage-error.js';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

const YML = `version: 1
workspaces:
  tasks:
    build: { needs: ["^build"], run: echo build }
tasks:
  lint: { run: echo lint }
`;

/**
 * Packages a <- b <- c (b depends on a, c on b) and d alone. Commits: `init` (tagged), `touch b`
 * (tagged), `touch d`, so HEAD^1 changed d, HEAD~2...HEAD^1 changed b.
 */
function repo(): {
  dir: string;
  git: (...a: string[]) => string;
  write: (rel: string, text: string) => void;
} {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'slipway-filters-')));
  made.push(dir);
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };
  const git = (...a: string[]) =>
    execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...a], { cwd: dir, encoding: 'utf8' });
  write('slipway.yml', YML);
  write('package.json', JSON.stringify({ name: 'root', private: true, workspaces: ['packages/*'] }));
  const deps: Record<string, string[]> = { a: [], b: ['a'], c: ['b'], d: [] };
  for (const [n, d] of Object.entries(deps)) {
    write(
      `packages/${n}/package.json`,
      JSON.stringify({ name: n, dependencies: Object.fromEntries(d.map((x) => [x, '*'])) }),
    );
    write(`packages/${n}/src/index.js`, `${n}\n`);
  }
  write('.gitignore', '.slipway/\n');
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-qm', 'init');
  git('tag', 'v0');
  write('packages/b/src/index.js', 'b2\n');
  git('commit', '-qam', 'touch b');
  git('tag', 'v1');
  write('packages/d/src/index.js', 'd2\n');
  git('commit', '-qam', 'touch d');
  return { dir, git, write };
}

const load = (dir: string): Pipeline => loadPipeline(path.join(dir, 'slipway.yml'));
const select = (dir: string, o: TargetOptions, names: string[] = []) => {
  const t = selectTargets(load(dir), names, { cwd: dir, env: {}, ...o });
  return { ids: [...t.ids].sort(), notes: t.notes };
};
const filter = (dir: string, ...filters: string[]) => select(dir, { filters }).ids;

describe('--filter with a git range', () => {
  const r = repo();

  it('[REF]: the packages whose files changed since REF', () => {
    expect(filter(r.dir, '[HEAD^1]')).toEqual(['d#build']);
    expect(filter(r.dir, '[v0]')).toEqual(['b#build', 'd#build']);
  });

  it('[A...B]: what B changed since its merge-base with A', () => {
    expect(filter(r.dir, '[v0...v1]')).toEqual(['b#build']);
  });

  it('...[REF] adds dependents, [REF]... dependencies, ^ leaves out the changed package', () => {
    expect(filter(r.dir, '...[v0...v1]')).toEqual(['b#build', 'c#build']);
    expect(filter(r.dir, '[v0...v1]...')).toEqual(['a#build', 'b#build']);
    expect(filter(r.dir, '...^[v0...v1]')).toEqual(['c#build']);
  });

  it('name[REF]: that package only if it changed', () => {
    expect(filter(r.dir, 'b[v0]')).toEqual(['b#build']);
    expect(filter(r.dir, 'c[v0]')).toEqual([]);
  });

  it('!pattern subtracts, from every package when it stands alone', () => {
    expect(filter(r.dir, '!b')).toEqual(['a#build', 'c#build', 'd#build']);
    expect(filter(r.dir, '...[v0]', '!c')).toEqual(['b#build', 'd#build']);
    // Subtracting every package by name leaves nothing: a mistake, unlike a range that changed nothing.
    expect(() => filter(r.dir, '!./packages/*')).toThrow(/no task matches --filter !\.\/packages\/\*/);
  });

  it('says what changed, and a range that changed nothing selects nothing (not an error)', () => {
    const some = select(r.dir, { filters: ['[HEAD^1]'] });
    expect(some.notes).toEqual([
      expect.stringMatching(
        /^--filter \[HEAD\^1\]: 1 package\(s\) changed since HEAD\^1 \(merge-base [0-9a-f]{7}\): d$/,
      ),
    ]);
    const none = select(r.dir, { filters: ['[HEAD]'] });
    expect(none.ids).toEqual([]);
    expect(none.notes[0]).toMatch(/no package changed since HEAD/);
  });

  it('a ref git does not know is a usage error naming it, with the fetch CI needs', () => {
    let err: unknown;
    try {
      filter(r.dir, '[origin/nope]');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toBe('git does not know "origin/nope" (in "[origin/nope]")');
    expect((err as UsageError).hint).toMatch(/fetch-depth: 0/);
  });
});

describe('--filter [REF] sees the working tree', () => {
  it('counts staged, unstaged and untracked files', () => {
    const r = repo();
    r.write('packages/a/src/index.js', 'edited\n');
    expect(filter(r.dir, '[HEAD]')).toEqual(['a#build']);
    r.write('packages/c/new-file.js', 'new\n');
    expect(filter(r.dir, '[HEAD]')).toEqual(['a#build', 'c#build']);
    r.git('add', '-A');
    expect(filter(r.dir, '[HEAD]')).toEqual(['a#build', 'c#build']);
  });

  it('a change to a lockfile or the pipeline file changes every package', () => {
    const r = repo();
    r.write('package-lock.json', '{}\n');
    const t = select(r.dir, { filters: ['[HEAD]'] });
    expect(t.ids).toEqual(['a#build', 'b#build', 'c#build', 'd#build']);
    expect(t.notes[0]).toMatch(/package-lock\.json changed .* every package counts as changed/);
  });
});

describe('--affected', () => {
  it('compares with main by default and adds dependents; BASE overrides', () => {
    const r = repo();
    r.git('checkout', '-qb', 'feature', 'v1');
    r.write('packages/a/src/index.js', 'a on a branch\n');
    r.git('commit', '-qam', 'touch a');
    // main moved on (touch d) after the branch point: the merge-base keeps d out.
    const t = select(r.dir, { affected: '' });
    expect(t.ids).toEqual(['a#build', 'b#build', 'c#build']);
    expect(t.notes[0]).toMatch(
      /^--affected \(base main, with dependents\): 1 package\(s\) changed since main .*: a$/,
    );
    expect(select(r.dir, { affected: 'v0' }).ids).toEqual(['a#build', 'b#build', 'c#build']);
    expect(select(r.dir, { affected: 'HEAD' }).ids).toEqual([]);
  });

  it('on a GitHub pull request the base is origin/$GITHUB_BASE_REF; --filter narrows within it', () => {
    const r = repo();
    r.git('update-ref', 'refs/remotes/origin/release', 'v1');
    const t = select(r.dir, { affected: '', env: { GITHUB_BASE_REF: 'release' } });
    expect(t.ids).toEqual(['d#build']);
    expect(t.notes[0]).toMatch(/base origin\/release/);
    expect(select(r.dir, { affected: 'v0', filters: ['!d'] }).ids).toEqual(['b#build', 'c#build']);
  });

  it('without a local main, origin/main', () => {
    const r = repo();
    r.git('update-ref', 'refs/remotes/origin/main', 'v1');
    r.git('checkout', '-qb', 'work');
    r.git('branch', '-D', 'main');
    expect(select(r.dir, { affected: '' }).notes[0]).toMatch(/base origin\/main/);
  });
});

describe('the --affected flag on the command line', () => {
  /** `slipway graph … --format json` in this process; the node ids it prints. */
  async function graphNodes(
    dir: string,
    args: string[],
  ): Promise<{ code: unknown; nodes: string[]; stderr: string }> {
    let stdout = '';
    let stderr = '';
    await main(
      ['node', 'slipway', '-f', path.join(dir, 'slipway.yml'), 'graph', '--format', 'json', ...args],
      {
        stdout: {
          write: (t) => {
            stdout += t;
          },
        },
        stderr: {
          write: (t) => {
            stderr += t;
          },
        },
        env: {},
      },
    );
    const code = process.exitCode;
    process.exitCode = undefined;
    return { code, nodes: stdout ? (JSON.parse(stdout) as { nodes: string[] }).nodes.sort() : [], stderr };
  }

  it('a bare --affected does not swallow the task name after it; --affected=BASE names the base', async () => {
    const r = repo();
    r.git('checkout', '-qb', 'feature', 'v1');
    r.write('packages/b/src/index.js', 'b3\n');
    const bare = await graphNodes(r.dir, ['--affected', 'build']);
    expect(bare.code ?? 0).toBe(0);
    expect(bare.nodes).toEqual(['a#build', 'b#build', 'c#build']);
    expect(bare.stderr).toMatch(
      /^slipway: --affected \(base main, with dependents\): 1 package\(s\) changed since main/,
    );
    const based = await graphNodes(r.dir, ['build', '--affected=HEAD~1']);
    expect(based.stderr).toMatch(/base HEAD~1/);
  });
});

describe('a command run inside a package folder', () => {
  const r = repo();

  it('is scoped to that package, and says so', () => {
    const t = select(r.dir, { cwd: path.join(r.dir, 'packages/b/src') });
    expect(t.ids).toEqual(['b#build']);
    expect(t.notes).toEqual([expect.stringMatching(/^in package b \(packages\/b\): only its tasks/)]);
    expect(select(r.dir, { cwd: path.join(r.dir, 'packages/b') }, ['build']).ids).toEqual(['b#build']);
  });

  it('keeps task ids as they are, and --filter or the root folder lift the scope', () => {
    const inB = path.join(r.dir, 'packages/b');
    expect(select(r.dir, { cwd: inB }, ['lint']).ids).toEqual(['lint']);
    expect(select(r.dir, { cwd: inB, filters: ['c'] }).ids).toEqual(['c#build']);
    expect(select(r.dir, { cwd: r.dir }).ids).toEqual(['a#build', 'b#build', 'c#build', 'd#build', 'lint']);
  });
});
