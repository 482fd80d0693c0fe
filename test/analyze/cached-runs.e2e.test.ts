/**
 * Counting right on cached runs, end to end: a warm cache must not make `slipway check` pass a
 * budget the task breaks when it really runs (it is judged on its last real execution, and says
 * so), and a fully cached run has no lower-bound ratio ("all cached", not ×185); the report on
 * such a short history says how little it can support.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipelineYaml, readSummary, type Workspace, workspace } from '../helpers/cli.js';

let w: Workspace;
const ids: string[] = [];

beforeAll(async () => {
  w = workspace(
    pipelineYaml(
      {
        // Sleeps 1.5 s against a 1 s budget; cacheable (inputs src/, output out/).
        slow: {
          run: 'sleep 1.5 && mkdir -p out && cp src/a.txt out/a.txt',
          inputs: ['src/**'],
          outputs: ['out/**'],
        },
      },
      { budgets: { tasks: { slow: '1s' } } },
    ),
  );
  w.write('src/a.txt', 'a\n');
  w.write('.gitignore', 'out/\n.slipway/\n*.json\n');
  const g = (...a: string[]) => execFileSync('git', a, { cwd: w.dir, stdio: 'pipe' });
  g('init', '-q');
  g('add', '-A');
  g('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'init');
  for (let i = 0; i < 2; i++) {
    const r = await w.run(['run', '--summary', 'summary.json']);
    expect(r.code, r.stderr).toBe(0);
    ids.push(readSummary(w).id);
  }
}, 120_000);

afterAll(() => w?.cleanup());

describe('cached runs', () => {
  it('the second run is fully cached and reports no lower-bound ratio', () => {
    const s = w.json<{ lowerBoundRatio: number | null; lowerBoundMs: number; tasks: { cache: string }[] }>(
      'summary.json',
    );
    expect(s.tasks.map((t) => t.cache)).toEqual(['hit-local']);
    expect(s.lowerBoundMs).toBe(0);
    expect(s.lowerBoundRatio).toBeNull();
  });

  it('prints "all cached" instead of a ratio', async () => {
    const r = await w.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Time: .*all cached/);
    expect(r.stdout).not.toMatch(/×\d/);
    // History lists the first run's ratio and the cached runs as cached.
    const h = await w.run(['history']);
    const rows = h.stdout.split('\n').filter((l) => /^ {2}r[0-9a-z]{10,} /.test(l));
    expect(rows.map((l) => /\s(cached|\d+\.\d\d|-)\s+1: /.exec(l)?.[1])).toEqual([
      'cached',
      'cached',
      expect.stringMatching(/^\d+\.\d\d$/),
    ]);
  });

  it('check judges the budget on the last real execution and fails', async () => {
    const r = await w.run(['check', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const c = JSON.parse(r.stdout) as {
      budgets: {
        subject: string;
        actualMs: number;
        breached: boolean;
        basis: string;
        measuredRunId: string;
      }[];
    };
    expect(c.budgets).toHaveLength(1);
    expect(c.budgets[0]).toMatchObject({
      subject: 'slow',
      breached: true,
      basis: 'last-execution',
      measuredRunId: ids[0],
    });
    expect(c.budgets[0]!.actualMs).toBeGreaterThan(1000);
    const text = await w.run(['check']);
    expect(text.stdout).toContain(`FAIL budget slow:`);
    expect(text.stdout).toContain(`last executed in run ${ids[0]}`);
  });

  it('the report on this short history says what it cannot support', async () => {
    const r = await w.run(['report']);
    expect(r.code, r.stderr).toBe(0);
    // One real execution: no change point can be found yet, and the report says why.
    expect(r.stdout).toMatch(
      /none detectable yet: a change point needs 6 executions .* the most any has is 1/,
    );
    // No deployment: availability has no data (a build is not the service); run counts are few.
    expect(r.stdout).toMatch(/^ {2}availability\s+-\s+.*no data/m);
    expect(r.stdout).toMatch(/^ {2}pipeline success rate\s+100\.00%.*ok\s+3 \(few\)/m);
  });
});
