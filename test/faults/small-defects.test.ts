/**
 * Issue 10, defect 11: the smaller faults found in the trial, each driven through the real CLI.
 * Outputs outside the task's folder, an empty pipeline and a repeated task id are located config
 * errors (exit 2); an agent on a busy port says so in one line; after `cache prune --all` the
 * outputs in place are stored again, so deleting them later restores them instead of re-running.
 */
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliResult, STACK_FRAME, type Workspace, workspace } from '../helpers/cli.js';

const made: Workspace[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const ws of made) ws.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function ws(yaml?: string): Workspace {
  const w = workspace(yaml);
  made.push(w);
  return w;
}

/** Exit 2, no stack trace, no "internal error". */
function expectUsageFailure(r: CliResult): void {
  expect(r.signal).toBeNull();
  expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(2);
  expect(r.stderr).not.toMatch(STACK_FRAME);
  expect(r.stdout).not.toMatch(STACK_FRAME);
  expect(r.stderr).not.toMatch(/internal error/i);
}

/** The first `file:line:col: error: message` header, and every hint. */
function firstDiagnostic(stderr: string) {
  const m = /^(\S+?):(\d+):(\d+): error: (.*)$/m.exec(stderr);
  expect(m, stderr).not.toBeNull();
  return {
    file: m![1]!,
    line: Number(m![2]),
    col: Number(m![3]),
    message: m![4]!,
    hints: [...stderr.matchAll(/^\s+hint: (.*)$/gm)].map((h) => h[1]!),
  };
}

describe('outputs must stay inside the task folder', () => {
  const cases = [
    {
      name: 'a parent-relative glob',
      output: '../x/**',
      message: /output "\.\.\/x\/\*\*" leaves the task's folder/,
    },
    {
      name: 'an absolute path',
      output: '/tmp/slipway-abs-out',
      message: /output "\/tmp\/slipway-abs-out" is an absolute path/,
    },
    { name: 'a ".." in the middle', output: 'dist/../../x', message: /leaves the task's folder/ },
  ];
  for (const c of cases) {
    it(`${c.name} is a located error (exit 2) for validate and run, and nothing runs`, async () => {
      const w = ws(
        [
          'version: 1',
          'tasks:',
          '  build:',
          '    run: echo ran > ran.txt',
          '    outputs:',
          `      - "${c.output}"`,
          '',
        ].join('\n'),
      );
      for (const cmd of [['validate'], ['run']]) {
        const r = await w.run(cmd);
        expectUsageFailure(r);
        const d = firstDiagnostic(r.stderr);
        expect(d.file).toBe('slipway.yml');
        expect([d.line, d.col]).toEqual([6, 9]);
        expect(d.message).toMatch(c.message);
        expect(d.hints.some((h) => /inside the task's folder/.test(h))).toBe(true);
      }
      expect(w.exists('ran.txt')).toBe(false);
    });
  }

  it('inputs outside the task folder stay legal (shared files a package depends on)', async () => {
    const w = ws(
      [
        'version: 1',
        'tasks:',
        '  build:',
        '    run: echo',
        '    cwd: pkg',
        '    inputs: ["../shared/**", "src/**"]',
        '',
      ].join('\n'),
    );
    const r = await w.run(['validate']);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('a pipeline with nothing to run', () => {
  for (const [name, text] of [
    ['an empty file', ''],
    ['only comments and a version', '# nothing yet\nversion: 1\n'],
  ] as const) {
    it(`${name} is "nothing to run" at 1:1 with a hint, exit 2`, async () => {
      const w = ws(text);
      for (const cmd of [['validate'], ['run']]) {
        const r = await w.run(cmd);
        expectUsageFailure(r);
        expect(r.stdout).not.toMatch(/ok \(0 tasks\)/);
        const d = firstDiagnostic(r.stderr);
        expect([d.file, d.line, d.col]).toEqual(['slipway.yml', 1, 1]);
        expect(d.message).toMatch(/nothing to run/);
        expect(d.hints.some((h) => /tasks:/.test(h))).toBe(true);
      }
    });
  }
});

describe('a repeated task id', () => {
  it('names the whole key, points at its second occurrence and says where the first is', async () => {
    const w = ws(
      ['version: 1', 'tasks:', '  build:', '    run: echo a', '  build:', '    run: echo b', ''].join('\n'),
    );
    const r = await w.run(['validate']);
    expectUsageFailure(r);
    const d = firstDiagnostic(r.stderr);
    expect([d.file, d.line, d.col]).toEqual(['slipway.yml', 5, 3]);
    expect(d.message).toBe('duplicate task id "build" (first defined on line 3)');
    // The squiggle covers the whole key.
    expect(r.stderr).toMatch(/\n\s+\|\s{3}~~~~~\n/);
  });
});

describe('slipway agent on a busy port', () => {
  it('prints one line naming the address and a hint, exit 2, no stack trace', async () => {
    const busy: Server = createServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const port = (busy.address() as { port: number }).port;
    try {
      const w = ws();
      const r = await w.run(
        ['agent', '--dir', 'agent', '--listen', `127.0.0.1:${port}`, '--token-env', 'T'],
        {
          env: { T: 'a-long-enough-agent-token' },
        },
      );
      expectUsageFailure(r);
      const lines = r.stderr.trim().split('\n');
      expect(lines[0]).toBe(`error: cannot listen on 127.0.0.1:${port}: the address is already in use`);
      expect(lines.slice(1).every((l) => /^\s+hint: /.test(l))).toBe(true);
      expect(lines.length).toBe(2);
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });
});

describe('cache prune --all, then a run', () => {
  it('stores the outputs in place again, so a later restore does not re-run the task', async () => {
    // The counter lives outside the workspace: a file in it would be one of the task's inputs.
    const side = mkdtempSync(path.join(os.tmpdir(), 'slipway-prune-'));
    dirs.push(side);
    const counter = path.join(side, 'runs');
    const w = ws(
      [
        'version: 1',
        'tasks:',
        '  build:',
        `    run: echo run >> ${counter} && mkdir -p dist && echo built > dist/out.txt`,
        '    outputs: ["dist/**"]',
        '    inputs: ["slipway.yml"]',
        '',
      ].join('\n'),
    );
    const entries = (): string[] => {
      const root = w.path('.slipway', 'cache', 'entries');
      let shards: string[];
      try {
        shards = readdirSync(root);
      } catch {
        return [];
      }
      return shards.flatMap((s) =>
        readdirSync(path.join(root, s)).filter((f) => statSync(path.join(root, s, f)).isFile()),
      );
    };
    const run = async (): Promise<string> => {
      const r = await w.run(['run']);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };

    await run();
    expect(entries()).toHaveLength(1);
    expect(await run()).toMatch(/build cache hit \(local\)/);

    const prune = await w.run(['cache', 'prune', '--all']);
    expect(prune.code, prune.stderr).toBe(0);
    expect(entries()).toHaveLength(0);

    // Outputs are in place: still a hit, and the entry is back.
    expect(await run()).toMatch(/build cache hit \(local\)/);
    expect(entries()).toHaveLength(1);

    // So deleting the outputs restores them from that entry instead of running the task.
    rmSync(w.path('dist'), { recursive: true });
    expect(await run()).toMatch(/build cache hit \(local\)/);
    expect(w.read('dist/out.txt')).toBe('built\n');
    expect(readFileSync(counter, 'utf8')).toBe('run\n');
  });
});
