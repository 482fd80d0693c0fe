/**
 * The head start `slipway run` takes before the CLI loads (prefetch.ts, state/checkout.ts) and the
 * shell batch its probes run in (util/shell-batch.ts): which argv starts it and for which folder,
 * what git and stat answer through it, and that every command of a batch gets its own output,
 * status and input.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanCommandLine } from '../command-line.js';
import type { Checkout } from '../state/checkout.js';
import { Ledger } from '../state/ledger.js';
import { statRecord } from '../state/stat-record.js';
import { ReadyShell, shellBatch } from '../util/shell-batch.js';
import { Prefetch } from './prefetch.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  // realpath: git reports the resolved top level.
  const d = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'slipway-prefetch-')));
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
async function settle(c: Checkout | undefined) {
  if (!c) return undefined;
  const [git, outputs] = await Promise.all([c.git(), c.outputStats()]);
  return { root: c.root, git, outputs };
}

/** argv as process.argv has it: node, the script, then the user's arguments. */
const argv = (...args: string[]) => ['/usr/bin/node', '/x/bin/slipway.js', ...args];

describe('Prefetch.start: which command line starts the head start', () => {
  // Relative pipeline paths resolve against the working directory: use an empty folder, so the
  // probes' git commands never touch this checkout.
  const home = process.cwd();
  beforeAll(() => process.chdir(tmp()));
  afterAll(() => process.chdir(home));

  it('starts it for `run`, for the folder of the default pipeline file', async () => {
    const p = Prefetch.start(argv('run'));
    expect(p.started?.root).toBe(process.cwd());
    await settle(p.started);
  });

  it('starts it for `run` with its own arguments and options after it', async () => {
    const p = Prefetch.start(argv('run', 'build', '--filter', 'web', '-c', '4'));
    expect(p.started?.root).toBe(process.cwd());
    await settle(p.started);
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
    const p = Prefetch.start(argv(...args));
    expect(p.started?.root).toBe(path.resolve(folder));
    await settle(p.started);
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
    expect(Prefetch.start(argv(...args)).started).toBeUndefined();
  });

  it('hands a command the started checkout for its folder, a fresh one for another', async () => {
    const p = Prefetch.start(argv('run'));
    expect(p.checkout(process.cwd())).toBe(p.started);
    const other = p.checkout(path.join(process.cwd(), 'elsewhere'));
    expect(other).not.toBe(p.started);
    expect(other.root).toBe(path.join(process.cwd(), 'elsewhere'));
    await settle(p.started);
  });
});

describe('scanCommandLine', () => {
  it('names the command and the pipeline file, skipping global options and their values', () => {
    expect(scanCommandLine(['--store', 'x.db', '-f', 'a.yml', 'run', '-f', 'ignored'])).toEqual({
      command: 'run',
      file: 'a.yml',
    });
    expect(scanCommandLine(['--file=b.yml'])).toEqual({ file: 'b.yml' });
    expect(scanCommandLine(['--help'])).toEqual({});
  });
});

describe('the checkout probes', () => {
  it("read git's view of the repository: top level, index, status and HEAD", async () => {
    const { dir, head } = repo();
    const p = await settle(Prefetch.start(argv('-f', path.join(dir, 'slipway.yml'), 'run')).started);
    expect(p?.root).toBe(dir);
    expect(p?.git.where?.split('\n')[0]).toBe(dir);
    expect(p?.git.index).toMatch(/^100644 [0-9a-f]{40} 0\ttracked\.txt\0$/);
    expect(p?.git.status).toBe('?? untracked.txt\0');
    expect(p?.git.head?.sha).toBe(head);
    expect(p?.git.head?.commitAt).toBeGreaterThan(0);
  });

  it('leave git facts out outside a repository, without failing', async () => {
    const dir = tmp();
    const p = await settle(Prefetch.start(argv('-f', path.join(dir, 'slipway.yml'), 'run')).started);
    expect(p?.git).toEqual({ where: undefined, index: undefined, status: undefined, head: undefined });
    // No ledger yet: no output stats to compare against.
    expect(p?.outputs).toBeUndefined();
  });

  it("stat the output paths the ledger lists, in the ledger's record format", async () => {
    const dir = tmp();
    mkdirSync(path.join(dir, 'dist'));
    const a = path.join(dir, 'dist', 'a.js');
    const b = path.join(dir, 'dist', 'b c.js');
    writeFileSync(a, 'a');
    writeFileSync(b, 'bc');
    const gone = path.join(dir, 'dist', 'deleted.js');
    writeFileSync(gone, 'soon gone');
    const recorded = [path.join(dir, 'dist'), a, gone, b].map(statRecord).join('');
    const ledger = Ledger.load(dir);
    ledger.set('outputs', { format: 0, tasks: {} }, recorded);
    ledger.save();
    rmSync(gone);
    const p = await settle(Prefetch.start(argv('--file', path.join(dir, 'slipway.yml'), 'run')).started);
    expect(p?.outputs).toBe(statRecord(path.join(dir, 'dist')) + statRecord(a) + statRecord(b));
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

  it('gives a command its input text on stdin, beside commands reading files', async () => {
    const dir = tmp();
    const file = path.join(dir, 'in.txt');
    writeFileSync(file, 'from a file\n');
    const big = 'x'.repeat(300_000);
    const r = await shellBatch(dir, [
      { argv: ['cat'], input: 'first input\0with a NUL\n' },
      { argv: ['cat'], stdin: file },
      { argv: ['wc', '-c'], input: big },
      { argv: ['cat'], input: '' },
    ]);
    expect(r[0]).toEqual({ code: 0, out: 'first input\0with a NUL\n' });
    expect(r[1]).toEqual({ code: 0, out: 'from a file\n' });
    expect(r[2]?.out.trim()).toBe(String(big.length));
    expect(r[3]).toEqual({ code: 0, out: '' });
  });

  it('splits commands with input across shells and still answers in order', async () => {
    const n = 6;
    const r = await shellBatch(
      tmp(),
      Array.from({ length: n }, (_, i) => ({ argv: ['cat'], input: `in${i}` })),
    );
    expect(r).toEqual(Array.from({ length: n }, (_, i) => ({ code: 0, out: `in${i}` })));
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

describe('ReadyShell', () => {
  const shape = { outputs: 5, inputs: 2 };

  it('answers a batch exactly as shellBatch does', async () => {
    const dir = tmp();
    const file = path.join(dir, "it's an input file");
    writeFileSync(file, 'from a file\n');
    const batch = [
      { argv: ['printf', '[%s]\\n', "it's", '$(id)', 'a;b|c&d', ''] },
      { argv: ['sh', '-c', 'printf second; exit 3'] },
      { argv: ['cat'], stdin: file },
      { argv: ['cat'], input: 'first input\0with a NUL\n' },
      { argv: ['no-such-command-slipway-test'] },
    ];
    const shell = ReadyShell.start(tmp(), shape);
    const ready = await shell?.run(dir, batch);
    expect(ready).toEqual(await shellBatch(dir, batch));
    expect(ready?.[3]).toEqual({ code: 0, out: 'first input\0with a NUL\n' });
  });

  it('runs in the folder and with the environment of the moment it is handed the batch', async () => {
    const dir = tmp();
    const shell = ReadyShell.start(tmp(), shape);
    process.env.SLIPWAY_READY_SHELL_TEST = "set after the start, it's here";
    writeFileSync(path.join(dir, 'made-after-the-start'), '');
    try {
      const batch = [{ argv: ['pwd'] }, { argv: ['ls'] }, { argv: ['env', '-0'] }];
      const [pwd, ls, env] = (await shell?.run(dir, batch)) ?? [];
      expect(pwd).toEqual({ code: 0, out: `${dir}\n` });
      expect(ls).toEqual({ code: 0, out: 'made-after-the-start\n' });
      const [, , expected] = await shellBatch(dir, batch);
      // The whole environment, variable for variable (LC_ALL=C included).
      expect(env?.out.split('\0').sort()).toEqual(expected?.out.split('\0').sort());
      expect(env?.out).toContain("SLIPWAY_READY_SHELL_TEST=set after the start, it's here\0");
    } finally {
      delete process.env.SLIPWAY_READY_SHELL_TEST;
    }
  });

  it('takes one batch that fits its pipes, and nothing else', async () => {
    const shell = ReadyShell.start(tmp(), shape)!;
    const tooMany = Array.from({ length: 6 }, () => ({ argv: ['true'] }));
    const tooManyInputs = Array.from({ length: 3 }, () => ({ argv: ['cat'], input: 'x' }));
    expect(shell.run(tmp(), tooMany)).toBeUndefined();
    expect(shell.run(tmp(), tooManyInputs)).toBeUndefined();
    expect(await shell.run(tmp(), [{ argv: ['echo', 'one'] }])).toEqual([{ code: 0, out: 'one\n' }]);
    expect(shell.run(tmp(), [{ argv: ['echo', 'two'] }])).toBeUndefined();
  });

  it('hands the batch to a shell of its own when the waiting one was killed', async () => {
    const dir = tmp();
    const shell = ReadyShell.start(tmp(), shape)!;
    process.kill(shell.pid!, 'SIGKILL');
    const r = await shell.run(dir, [{ argv: ['pwd'] }, { argv: ['cat'], input: 'in' }]);
    expect(r).toEqual([
      { code: 0, out: `${dir}\n` },
      { code: 0, out: 'in' },
    ]);
  });

  it('answers every command as failed when the folder is gone, as shellBatch does', async () => {
    const shell = ReadyShell.start(tmp(), shape);
    const r = await shell?.run(path.join(tmp(), 'no-such-folder'), [{ argv: ['echo', 'x'] }]);
    expect(r).toEqual([{ code: undefined, out: '' }]);
  });
});
