/**
 * The read-only probes `slipway run` starts before the CLI loads (probe.ts), and the shell batch
 * they run in (util/shell-batch.ts): which argv starts probes and for which folder, what git and
 * stat answer through them, and that every command of a batch gets its own output and status.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statLine } from '../cache/stat-batch.js';
import { outputStateListFile } from '../state/paths.js';
import { shellBatch } from '../util/shell-batch.js';
import { type Probes, startProbes } from './probe.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  // realpath: git reports the resolved top level.
  const d = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'slipway-probe-')));
  dirs.push(d);
  return d;
}

/** A committed git repository with one tracked file and one untracked file. */
function repo(): { dir: string; head: string } {
  const dir = tmp();
  const g = (...a: string[]) =>
    execFileSync('git', a, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  writeFileSync(path.join(dir, 'tracked.txt'), 'tracked\n');
  g('init', '-q');
  g('add', 'tracked.txt');
  g('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'init');
  writeFileSync(path.join(dir, 'untracked.txt'), 'new\n');
  return { dir, head: g('rev-parse', 'HEAD').trim() };
}

/** Waits for both probes, so no child process outlives the test. */
async function settle(p: Probes | undefined) {
  if (!p) return undefined;
  const [git, outputs] = await Promise.all([p.git, p.outputs]);
  return { root: p.root, git, outputs };
}

/** argv as process.argv has it: node, the script, then the user's arguments. */
const argv = (...args: string[]) => ['/usr/bin/node', '/x/bin/slipway.js', ...args];

describe('startProbes: which command line starts probes', () => {
  // Relative pipeline paths resolve against the working directory: use an empty folder, so the
  // probes' git commands never touch this checkout.
  const home = process.cwd();
  beforeAll(() => process.chdir(tmp()));
  afterAll(() => process.chdir(home));

  it('starts them for `run`, for the folder of the default pipeline file', async () => {
    const p = startProbes(argv('run'));
    expect(p?.root).toBe(process.cwd());
    await settle(p);
  });

  it('starts them for `run` with its own arguments and options after it', async () => {
    const p = startProbes(argv('run', 'build', '--filter', 'web', '-c', '4'));
    expect(p?.root).toBe(process.cwd());
    await settle(p);
  });

  it.each([
    [['-f', 'sub/dir/pipe.yml', 'run'], 'sub/dir'],
    [['--file', 'sub/dir/pipe.yml', 'run'], 'sub/dir'],
    [['--file=sub/dir/pipe.yml', 'run'], 'sub/dir'],
    [['--store', 'postgres://h/db', 'run'], '.'],
    [['--store', 'run', 'run'], '.'],
    [['--store=/tmp/h.db', '-f', 'sub/pipe.yml', 'run', 'x'], 'sub'],
    [['-f', '/abs/where/slipway.yml', 'run'], '/abs/where'],
    [['plan', 'build'], '.'],
    [['--file', 'run', 'plan'], '.'],
  ])('finds `run` or `plan` after global options %j (root %s)', async (args, folder) => {
    const p = startProbes(argv(...args));
    expect(p?.root).toBe(path.resolve(folder));
    await settle(p);
  });

  it.each([
    [['validate']],
    [['-f', 'x.yml', 'validate']],
    [['--store', 'run', 'history']],
    [['graph', 'run']],
    [['why', 'run']],
    [[]],
    [['-f', 'x.yml']],
  ])('starts nothing for %j', (args) => {
    expect(startProbes(argv(...args))).toBeUndefined();
  });
});

describe('probes for a pipeline folder', () => {
  it("read git's view of the repository: top level, index, status and HEAD", async () => {
    const { dir, head } = repo();
    const p = await settle(startProbes(argv('-f', path.join(dir, 'slipway.yml'), 'run')));
    expect(p?.root).toBe(dir);
    expect(p?.git.where?.split('\n')[0]).toBe(dir);
    expect(p?.git.index).toMatch(/^100644 [0-9a-f]{40} 0\ttracked\.txt\0$/);
    expect(p?.git.status).toBe('?? untracked.txt\0');
    expect(p?.git.head?.sha).toBe(head);
    expect(p?.git.head?.commitAt).toBeGreaterThan(0);
  });

  it('leave git facts out outside a repository, without failing', async () => {
    const dir = tmp();
    const p = await settle(startProbes(argv('-f', path.join(dir, 'slipway.yml'), 'run')));
    expect(p?.git).toEqual({ where: undefined, index: undefined, status: undefined, head: undefined });
    // No output state recorded yet: nothing to compare against.
    expect(p?.outputs).toBeUndefined();
  });

  it('stat the paths the last run listed in .slipway/outputs.state.list', async () => {
    const dir = tmp();
    mkdirSync(path.join(dir, 'dist'));
    const a = path.join(dir, 'dist', 'a.js');
    const b = path.join(dir, 'dist', 'b c.js');
    writeFileSync(a, 'a');
    writeFileSync(b, 'bc');
    const listed = [path.join(dir, 'dist'), a, path.join(dir, 'dist', 'deleted.js'), b];
    mkdirSync(path.dirname(outputStateListFile(dir)));
    writeFileSync(outputStateListFile(dir), `${listed.join('\0')}\0`);
    const p = await settle(startProbes(argv('--file', path.join(dir, 'slipway.yml'), 'run')));
    expect(p?.outputs).toBe(statLine(path.join(dir, 'dist')) + statLine(a) + statLine(b));
  });
});

describe('shellBatch', () => {
  it('returns each command its own stdout and exit status, in order', async () => {
    const r = await shellBatch(tmp(), [
      { argv: ['echo', 'first'] },
      { argv: ['sh', '-c', 'printf second; exit 3'] },
      { argv: ['sh', '-c', 'echo to-stderr >&2; echo third'] },
    ]);
    expect(r).toEqual([
      { code: 0, out: 'first\n' },
      { code: 3, out: 'second' },
      { code: 0, out: 'third\n' },
    ]);
  });

  it('runs the commands in `cwd`', async () => {
    const dir = tmp();
    const [r] = await shellBatch(dir, [{ argv: ['pwd'] }]);
    expect(r).toEqual({ code: 0, out: `${dir}\n` });
  });

  it('feeds a command its stdin file, named with spaces and quotes', async () => {
    const dir = tmp();
    const file = path.join(dir, "it's an input file");
    writeFileSync(file, 'line one\nline two\n');
    const r = await shellBatch(dir, [
      { argv: ['cat'], stdin: file },
      { argv: ['wc', '-l'], stdin: file },
    ]);
    expect(r[0]).toEqual({ code: 0, out: 'line one\nline two\n' });
    expect(r[1]?.code).toBe(0);
    expect(r[1]?.out.trim()).toBe('2');
  });

  it('gives a failing command its nonzero status without touching the others', async () => {
    const dir = tmp();
    const r = await shellBatch(dir, [
      { argv: ['echo', 'before'] },
      { argv: ['false'] },
      { argv: ['no-such-command-slipway-test'] },
      { argv: ['cat'], stdin: path.join(dir, 'missing-stdin') },
      { argv: ['echo', 'after'] },
    ]);
    expect(r[0]).toEqual({ code: 0, out: 'before\n' });
    expect(r[1]).toEqual({ code: 1, out: '' });
    expect(r[2]?.code).toBe(127);
    expect(r[3]?.code).not.toBe(0);
    expect(r[3]?.code).toBeDefined();
    expect(r[4]).toEqual({ code: 0, out: 'after\n' });
  });

  it('passes arguments with quotes, spaces and shell syntax through intact', async () => {
    const args = [
      "it's",
      "'single'",
      'two  spaces',
      ' lead and trail ',
      '"double"',
      '$HOME',
      '`id`',
      '$(id)',
      'a;b|c&d',
      '*',
      '\\n',
      '',
      'ü',
    ];
    const [r] = await shellBatch(tmp(), [{ argv: ['printf', '[%s]\\n', ...args] }]);
    expect(r).toEqual({ code: 0, out: args.map((a) => `[${a}]\n`).join('') });
  });

  it('collects large outputs of several commands completely', async () => {
    const r = await shellBatch(tmp(), [
      { argv: ['sh', '-c', 'yes a | head -n 200000'] },
      { argv: ['sh', '-c', 'yes bb | head -n 100000'] },
    ]);
    expect(r[0]).toEqual({ code: 0, out: 'a\n'.repeat(200_000) });
    expect(r[1]).toEqual({ code: 0, out: 'bb\n'.repeat(100_000) });
  });

  it('resolves (never rejects) when the batch cannot start', async () => {
    const r = await shellBatch(path.join(tmp(), 'no-such-folder'), [{ argv: ['echo', 'x'] }]);
    expect(r).toEqual([{ code: undefined, out: '' }]);
  });

  it('answers an empty batch with no results', async () => {
    expect(await shellBatch(tmp(), [])).toEqual([]);
  });

  // Command i writes to fd 3+i and dash (Debian's /bin/sh) only takes single-digit fds: a batch
  // of more than seven commands must be split across shells and still answer in order.
  it('handles more than seven commands', async () => {
    const n = 10;
    const r = await shellBatch(
      tmp(),
      Array.from({ length: n }, (_, i) => ({ argv: ['echo', `c${i}`] })),
    );
    expect(r).toEqual(Array.from({ length: n }, (_, i) => ({ code: 0, out: `c${i}\n` })));
  });
});
