/**
 * `slipway run` end to end: parallelism (asserted from the summary's timestamps), target
 * selection, what a failure shows the user, retries as declared, timeouts killing the process
 * tree, and per-task logs. Ordering, skipping after a failure, --continue, retry bounds and
 * cancellation logic are tested in process (unit-executor.test.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  isAlive,
  killTree,
  ms,
  pipelineYaml,
  readPid,
  readSummary,
  STACK_FRAME,
  type Workspace,
  waitFor,
  workspace,
} from '../helpers/cli.js';

const made: Workspace[] = [];
const pids: number[] = [];
afterAll(() => {
  for (const p of pids) killTree(p);
  for (const ws of made) ws.cleanup();
});
function ws(yaml: string): Workspace {
  const w = workspace(yaml);
  made.push(w);
  return w;
}

/** Appends the task id to ran.txt, so a test can see which tasks ran and how often. */
const mark = (id: string, then = 'true') => `echo ${id} >> ran.txt; ${then}`;
const ran = (w: Workspace): string[] =>
  w.exists('ran.txt') ? w.read('ran.txt').split('\n').filter(Boolean) : [];

describe('slipway run: parallel diamond', () => {
  it('a -> (b, c) -> d with -c 2: b and c overlap, d starts after both end', async () => {
    const w = ws(
      pipelineYaml({
        a: { run: mark('a', 'sleep 0.1') },
        b: { run: mark('b', 'sleep 0.5'), needs: ['a'] },
        c: { run: mark('c', 'sleep 0.5'), needs: ['a'] },
        d: { run: mark('d'), needs: ['b', 'c'] },
      }),
    );
    const r = await w.run(['run', '-c', '2', '--summary', 'summary.json']);
    expect(r.code, r.stderr).toBe(0);
    const s = readSummary(w);
    expect(s.status).toBe('success');
    const t = (id: string) => {
      const x = s.byId.get(id);
      expect(x, `task ${id} in summary`).toBeDefined();
      expect(x!.status).toBe('success');
      return { start: ms(x!.startedAt), end: ms(x!.endedAt) };
    };
    const [a, b, c, d] = [t('a'), t('b'), t('c'), t('d')];
    // Dependencies first.
    expect(b.start).toBeGreaterThanOrEqual(a.end);
    expect(c.start).toBeGreaterThanOrEqual(a.end);
    // b and c overlap: each starts before the other ends.
    expect(b.start).toBeLessThan(c.end);
    expect(c.start).toBeLessThan(b.end);
    // d waits for both.
    expect(d.start).toBeGreaterThanOrEqual(b.end);
    expect(d.start).toBeGreaterThanOrEqual(c.end);
    expect(ran(w).sort()).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('slipway run TARGETS: only the targets and their dependencies', () => {
  const yaml = pipelineYaml({
    base: { run: mark('base') },
    a: { run: mark('a'), needs: ['base'] },
    other: { run: mark('other'), needs: ['base'] },
    top: { run: mark('top'), needs: ['a', 'other'] },
    lone: { run: mark('lone') },
  });

  it('`slipway run a` runs base and a only', async () => {
    const w = ws(yaml);
    const r = await w.run(['run', 'a', '--summary', 'summary.json']);
    expect(r.code, r.stderr).toBe(0);
    const s = readSummary(w);
    expect(s.tasks.map((t) => t.id).sort()).toEqual(['a', 'base']);
    expect(ran(w).sort()).toEqual(['a', 'base']);
  });

  it('several targets: their union with dependencies', async () => {
    const w = ws(yaml);
    const r = await w.run(['run', 'a', 'lone', '--summary', 'summary.json']);
    expect(r.code, r.stderr).toBe(0);
    expect(
      readSummary(w)
        .tasks.map((t) => t.id)
        .sort(),
    ).toEqual(['a', 'base', 'lone']);
  });

  it('no target runs everything', async () => {
    const w = ws(yaml);
    const r = await w.run(['run', '--summary', 'summary.json']);
    expect(r.code, r.stderr).toBe(0);
    expect(
      readSummary(w)
        .tasks.map((t) => t.id)
        .sort(),
    ).toEqual(['a', 'base', 'lone', 'other', 'top']);
  });

  it('an unknown target is a usage error: exit 2, names it, no stack trace, runs nothing', async () => {
    const w = ws(yaml);
    const r = await w.run(['run', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nope');
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(ran(w)).toEqual([]);
  });
});

describe('slipway run: failures', () => {
  // bad fails at once; dep and dep2 depend on it; slow runs meanwhile (long enough to outlast
  // bad's failure on a loaded machine); after needs slow, so it would only start after the failure.
  const yaml = pipelineYaml({
    bad: { run: 'echo failing >&2; exit 3' },
    dep: { run: mark('dep'), needs: ['bad'] },
    dep2: { run: mark('dep2'), needs: ['dep'] },
    slow: { run: mark('slow', 'sleep 0.8') },
    after: { run: mark('after'), needs: ['slow'] },
  });

  it('the failing task output reaches the user', async () => {
    const w = ws(yaml);
    const r = await w.run(['run', 'bad']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('failing');
    expect(r.stdout + r.stderr).toContain('bad');
  });
});

describe('slipway run: retries', () => {
  // Counts its attempts in a file; fails the first time only.
  const flaky = 'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ "$n" -ge 2 ]';

  it('retries: 1 turns a first-attempt failure into success with attempts 2', async () => {
    const w = ws(
      pipelineYaml({ flaky: { run: flaky, retries: 1 }, next: { run: mark('next'), needs: ['flaky'] } }),
    );
    const r = await w.run(['run', '--summary', 'summary.json']);
    expect(r.code, r.stderr).toBe(0);
    const s = readSummary(w);
    expect(s.byId.get('flaky')).toMatchObject({ status: 'success', exitCode: 0, attempts: 2 });
    expect(w.read('count').trim()).toBe('2');
    expect(s.byId.get('next')?.status).toBe('success');
  });
});

describe('slipway run: timeout kills the whole process tree', () => {
  it('a task whose grandchild sleeps is killed at its timeout, grandchild included', async () => {
    // The shell starts a grandchild (its own sh, exec'd into sleep) and waits for it.
    const w = ws(
      pipelineYaml({
        hang: {
          run: "echo $$ > child.pid; sh -c 'echo $$ > grandchild.pid; exec sleep 30' & wait",
          // Long enough for the grandchild to start on a loaded machine before the timeout fires.
          timeout: '5s',
        },
        after: { run: mark('after'), needs: ['hang'] },
      }),
    );
    const r = await w.run(['run', '--summary', 'summary.json']);
    const child = readPid(w.path('child.pid'));
    const grandchild = readPid(w.path('grandchild.pid'));
    if (grandchild) pids.push(grandchild);
    expect(r.code, r.stderr).toBe(1);
    expect(child, 'the task wrote its pid').toBeDefined();
    expect(grandchild, 'the grandchild wrote its pid before the timeout').toBeDefined();
    const s = readSummary(w);
    expect(s.byId.get('hang')?.status).toBe('failed');
    expect(String(s.byId.get('hang')?.reason ?? '')).toMatch(/time/i);
    expect(s.byId.get('hang')?.failure).toEqual({ reason: 'timeout', ms: 5000 });
    expect(s.byId.get('after')).toMatchObject({
      reason: 'dependency "hang" failed',
      failure: { reason: 'dependency-failed', dependency: 'hang' },
    });
    expect(s.byId.get('after')?.status).toBe('skipped');
    // Gone once the CLI has exited (allow a moment for the kernel to reap).
    await waitFor(() => !isAlive(grandchild!) && !isAlive(child!), {
      timeoutMs: 15_000,
      what: 'the task tree to be gone',
    });
  });
});

describe('slipway run: logs', () => {
  it('writes each task output to .slipway/logs/<runId>/<taskId>.log', async () => {
    const w = ws(pipelineYaml({ hello: { run: 'echo hello from the task; echo on stderr >&2' } }));
    const r = await w.run(['run', '--summary', 'summary.json']);
    expect(r.code, r.stderr).toBe(0);
    const s = readSummary(w);
    const log = w.path('.slipway', 'logs', s.id, 'hello.log');
    expect(existsSync(log), log).toBe(true);
    const text = readFileSync(log, 'utf8');
    expect(text).toContain('hello from the task');
    expect(text).toContain('on stderr');
  });

  it('runs in the task cwd with the declared env', async () => {
    const w = ws(
      pipelineYaml(
        {
          where: {
            run: 'pwd > ../where.txt; echo "$GREETING $GLOBAL" > ../env.txt',
            cwd: 'pkg',
            env: { GREETING: 'hi' },
          },
        },
        { env: { GLOBAL: 'all' } },
      ),
    );
    w.write('pkg/.keep', '');
    const r = await w.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    expect(w.read('where.txt').trim()).toMatch(/\/pkg$/);
    expect(w.read('env.txt').trim()).toBe('hi all');
  });
});

describe('slipway run: output and usage', () => {
  it('without a TTY, task output lines are prefixed with the task id', async () => {
    const w = ws(
      pipelineYaml({ alpha: { run: 'echo one; echo two' }, beta: { run: 'echo three', needs: ['alpha'] } }),
    );
    const r = await w.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^.*\balpha\b.*\bone$/m);
    expect(r.stdout).toMatch(/^.*\balpha\b.*\btwo$/m);
    expect(r.stdout).toMatch(/^.*\bbeta\b.*\bthree$/m);
  });

  it.each([['0'], ['-1'], ['two']])('-c %s is a usage error (exit 2, no stack trace)', async (c) => {
    const w = ws(pipelineYaml({ a: { run: mark('a') } }));
    const r = await w.run(['run', '-c', c]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/concurrency/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(ran(w)).toEqual([]);
  });

  it('--resume without any previous run is a usage error', async () => {
    const w = ws(pipelineYaml({ a: { run: mark('a') } }));
    const r = await w.run(['run', '--resume']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/resume/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(ran(w)).toEqual([]);
  });
});
