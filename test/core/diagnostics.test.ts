/**
 * Issue 2, "What it must show": every configuration diagnostic is located (file:line:col), says
 * what is wrong and how to fix it, exits 2 and never prints a stack trace.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { STACK_FRAME, type Workspace, workspace } from '../helpers/cli.js';

const made: Workspace[] = [];
afterAll(() => {
  for (const ws of made) ws.cleanup();
});

interface Expected {
  message: string | RegExp;
  line: number;
  col?: number;
  hint?: string | RegExp;
}

/** Runs `slipway validate` on the given file text and returns stderr after the common checks. */
async function validate(yaml: string | undefined, args: string[] = ['-f', 'slipway.yml']): Promise<string> {
  const ws = workspace(yaml);
  made.push(ws);
  const r = await ws.run(['validate', ...args]);
  expect(r.signal).toBeNull();
  expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(2);
  expect(r.stderr).not.toMatch(STACK_FRAME);
  expect(r.stdout).not.toMatch(STACK_FRAME);
  expect(r.stderr).not.toMatch(/internal error/i);
  return r.stderr;
}

/** Asserts one diagnostic header `slipway.yml:LINE:COL: error: MESSAGE` (and its hint). */
function expectDiagnostic(stderr: string, e: Expected): void {
  const headers = [...stderr.matchAll(/^(\S+?):(\d+):(\d+): error: (.*)$/gm)].map((m) => ({
    file: m[1]!,
    line: Number(m[2]),
    col: Number(m[3]),
    message: m[4]!,
  }));
  const match = headers.find((h) =>
    typeof e.message === 'string' ? h.message.includes(e.message) : e.message.test(h.message),
  );
  expect(match, `no diagnostic matching ${String(e.message)} in:\n${stderr}`).toBeDefined();
  expect(match!.file).toBe('slipway.yml');
  expect(match!.line, stderr).toBe(e.line);
  if (e.col !== undefined) expect(match!.col, stderr).toBe(e.col);
  if (e.hint !== undefined) {
    const hints = [...stderr.matchAll(/^\s+hint: (.*)$/gm)].map((m) => m[1]!);
    expect(
      hints.some((h) => (typeof e.hint === 'string' ? h.includes(e.hint) : e.hint!.test(h))),
      `no hint matching ${String(e.hint)} in:\n${stderr}`,
    ).toBe(true);
  }
}

describe('slipway validate: located diagnostics, exit code 2, no stack trace', () => {
  it('accepts a valid file (exit 0), so the failures below are about their one mistake', async () => {
    const ws = workspace(
      [
        'version: 1',
        'resources: { cpu: 2 }',
        'tasks:',
        '  a:',
        '    run: echo a',
        '    timeout: 10s',
        '',
      ].join('\n'),
    );
    made.push(ws);
    const r = await ws.run(['validate', '-f', 'slipway.yml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('ok (1 tasks)');
  });

  it('YAML syntax error: bad indentation points at the offending line', async () => {
    const err = await validate(
      ['version: 1', 'tasks:', '  a:', '    run: echo', '   needs: [b]', ''].join('\n'),
    );
    expectDiagnostic(err, { message: /YAML syntax error/, line: 5, hint: 'indentation' });
  });

  it('YAML syntax error: tabs as indentation', async () => {
    const err = await validate(['version: 1', 'tasks:', '  a:', '\trun: echo', ''].join('\n'));
    expectDiagnostic(err, { message: /YAML syntax error: .*[Tt]ab/, line: 4, col: 1 });
  });

  it('YAML syntax error: an unclosed quote points at the line where the quote opens', async () => {
    // Pointing at the end of the file (an empty line) tells the user nothing.
    const err = await validate(
      ['version: 1', 'tasks:', '  a:', '    run: "echo hi', '  b:', '    run: echo b', ''].join('\n'),
    );
    expectDiagnostic(err, { message: /YAML syntax error: .*quote/i, line: 4, col: 10 });
  });

  it('unknown key with "did you mean" (in a task)', async () => {
    const err = await validate(
      ['version: 1', 'tasks:', '  a:', '    run: echo', '    neds: [b]', ''].join('\n'),
    );
    expectDiagnostic(err, {
      message: 'unknown key "neds" in tasks.a',
      line: 5,
      col: 5,
      hint: 'did you mean "needs"?',
    });
  });

  it('unknown key with "did you mean" (top level)', async () => {
    const err = await validate(
      ['version: 1', 'concurency: 2', 'tasks:', '  a:', '    run: echo', ''].join('\n'),
    );
    expectDiagnostic(err, {
      message: 'unknown key "concurency"',
      line: 2,
      col: 1,
      hint: 'did you mean "concurrency"?',
    });
  });

  it('wrong type: needs given as a string', async () => {
    const err = await validate(
      ['version: 1', 'tasks:', '  a:', '    run: echo', '    needs: b', ''].join('\n'),
    );
    expectDiagnostic(err, {
      message: 'wrong type for tasks.a.needs: expected a list, got string "b"',
      line: 5,
      col: 12,
      hint: 'write a list',
    });
  });

  it('wrong type: retries given as a string', async () => {
    const err = await validate(
      ['version: 1', 'tasks:', '  a:', '    run: echo', '    retries: "two"', ''].join('\n'),
    );
    expectDiagnostic(err, {
      message: /wrong type for tasks\.a\.retries: expected a number/,
      line: 5,
      col: 14,
    });
  });

  it('unknown dependency, with a guess', async () => {
    const err = await validate(
      [
        'version: 1',
        'tasks:',
        '  build:',
        '    run: echo',
        '  test:',
        '    run: echo',
        '    needs: [biuld]',
        '',
      ].join('\n'),
    );
    expectDiagnostic(err, {
      message: 'task "test" needs unknown task "biuld"',
      line: 7,
      col: 13,
      hint: 'did you mean "build"?',
    });
  });

  it('dependency cycle printed with its whole path a -> b -> c -> a', async () => {
    const err = await validate(
      [
        'version: 1',
        'tasks:',
        '  a:',
        '    run: echo',
        '    needs: [b]',
        '  b:',
        '    run: echo',
        '    needs: [c]',
        '  c:',
        '    run: echo',
        '    needs: [a]',
        '',
      ].join('\n'),
    );
    expectDiagnostic(err, { message: 'dependency cycle: a -> b -> c -> a', line: 5, col: 13 });
  });

  it('a task that needs itself is a cycle a -> a', async () => {
    const err = await validate(
      ['version: 1', 'tasks:', '  a:', '    run: echo', '    needs: [a]', ''].join('\n'),
    );
    expectDiagnostic(err, { message: 'dependency cycle: a -> a', line: 5 });
  });

  it('duplicate task id points at the second occurrence', async () => {
    const err = await validate(
      ['version: 1', 'tasks:', '  a:', '    run: echo', '  a:', '    run: echo 2', ''].join('\n'),
    );
    expectDiagnostic(err, { message: 'duplicate task id "a"', line: 5, col: 3 });
  });

  it('bad duration', async () => {
    const err = await validate(
      ['version: 1', 'tasks:', '  a:', '    run: echo', '    timeout: 10 minutes', ''].join('\n'),
    );
    expectDiagnostic(err, {
      message: 'tasks.a.timeout: bad duration "10 minutes"',
      line: 5,
      col: 14,
      hint: '"90s"',
    });
  });

  it('bad size', async () => {
    const err = await validate(
      ['version: 1', 'tasks:', '  a:', '    run: echo', '    resources: { memory: 12 gigs }', ''].join('\n'),
    );
    expectDiagnostic(err, {
      message: 'tasks.a.resources.memory: bad size "12 gigs"',
      line: 5,
      col: 26,
      hint: 'GiB',
    });
  });

  it('zero cpu', async () => {
    const err = await validate(
      ['version: 1', 'tasks:', '  a:', '    run: echo', '    resources: { cpu: 0 }', ''].join('\n'),
    );
    expectDiagnostic(err, { message: 'tasks.a.resources.cpu: must be greater than zero', line: 5, col: 23 });
  });

  it('negative cpu', async () => {
    const err = await validate(
      ['version: 1', 'tasks:', '  a:', '    run: echo', '    resources: { cpu: -1 }', ''].join('\n'),
    );
    expectDiagnostic(err, { message: 'tasks.a.resources.cpu: must be greater than zero', line: 5, col: 23 });
  });

  it('zero memory', async () => {
    const err = await validate(
      ['version: 1', 'tasks:', '  a:', '    run: echo', '    resources: { memory: 0 }', ''].join('\n'),
    );
    expectDiagnostic(err, { message: /tasks\.a\.resources\.memory: .*positive/, line: 5, col: 26 });
  });

  it('zero cpu in the top-level pool', async () => {
    const err = await validate(
      ['version: 1', 'resources: { cpu: 0 }', 'tasks:', '  a:', '    run: echo', ''].join('\n'),
    );
    expectDiagnostic(err, { message: 'resources.cpu: must be greater than zero', line: 2, col: 19 });
  });

  it('a task asking for more cpu than the pool has', async () => {
    const err = await validate(
      [
        'version: 1',
        'resources: { cpu: 2 }',
        'tasks:',
        '  a:',
        '    run: echo',
        '    resources: { cpu: 4 }',
        '',
      ].join('\n'),
    );
    expectDiagnostic(err, {
      message: 'task "a" asks for 4 cpu but the pool has 2',
      line: 6,
      col: 23,
      hint: 'at most 2',
    });
  });

  it('a task asking for more memory than the pool has', async () => {
    const err = await validate(
      [
        'version: 1',
        'resources: { memory: 1GiB }',
        'tasks:',
        '  a:',
        '    run: echo',
        '    resources: { memory: 2GiB }',
        '',
      ].join('\n'),
    );
    expectDiagnostic(err, {
      message: /task "a" asks for 2(\.0)? GiB of memory but the pool has 1(\.0)? GiB/,
      line: 6,
    });
  });

  it('a missing file (-f nope.yml): names the file, no line, exit 2', async () => {
    const err = await validate(undefined, ['-f', 'nope.yml']);
    expect(err).toMatch(/^nope\.yml: error: no such file$/m);
    expect(err).toMatch(/hint: .*-f\/--file/);
  });

  it('a missing default slipway.yml is also exit 2 without a stack trace', async () => {
    const err = await validate(undefined, []);
    expect(err).toMatch(/slipway\.yml: error: no such file/);
  });

  it('shows the offending line with a squiggle under the span', async () => {
    const err = await validate(
      ['version: 1', 'tasks:', '  a:', '    run: echo', '    neds: [b]', ''].join('\n'),
    );
    expect(err).toContain('   5 |     neds: [b]');
    expect(err).toMatch(/^ {7}\| {5}~~~~$/m);
  });

  it('reports several problems at once, each located', async () => {
    const err = await validate(
      ['version: 1', 'tasks:', '  a:', '    run: echo', '    neds: [b]', '    timeout: soon', ''].join('\n'),
    );
    expectDiagnostic(err, { message: 'unknown key "neds"', line: 5 });
    expectDiagnostic(err, { message: 'bad duration "soon"', line: 6 });
  });
});
