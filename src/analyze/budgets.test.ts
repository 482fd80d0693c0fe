import { describe, expect, it } from 'vitest';
import { run, task } from '../../test/analyze/fixtures.js';
import { parsePipeline } from '../config/load.js';
import { checkBudgets } from './budgets.js';

const pipeline = parsePipeline(
  'slipway.yml',
  '/tmp/budgets/slipway.yml',
  'version: 1\nname: b\ntasks:\n  build: { run: "true" }\n  test: { run: "true", needs: [build] }\nbudgets:\n  run: 5s\n  tasks: { build: 2s, test: 1s }\n',
);

const executed = (id: string, at: number, build: number, testMs: number) =>
  run(id, at, [task('build', at, build), task('test', at + build, testMs)]);
const cached = (id: string, at: number) =>
  run(id, at, [
    task('build', at, 3, { cache: 'hit-local', savedMs: 2500 }),
    task('test', at + 3, 2, { cache: 'hit-local', savedMs: 900 }),
  ]);

describe('budgets', () => {
  it('a cached task is judged on its last real execution, and says so', () => {
    const runs = [executed('r1', 0, 2500, 900), cached('r2', 10_000)];
    const b = checkBudgets(pipeline, runs, runs[1]!);
    const build = b.find((x) => x.subject === 'build')!;
    // 3 ms restored from the cache would read "ok 3ms / 2s"; the last execution took 2.5 s.
    expect(build).toMatchObject({
      actualMs: 2500,
      breached: true,
      basis: 'last-execution',
      measuredRunId: 'r1',
    });
    expect(build.note).toContain('last executed in run r1');
    expect(b.find((x) => x.subject === 'test')).toMatchObject({
      actualMs: 900,
      breached: false,
      basis: 'last-execution',
    });
    // The run stayed within its budget only thanks to the cache: judged on r1, which executed everything.
    expect(b.find((x) => x.subject === 'run')).toMatchObject({
      actualMs: 3400,
      basis: 'last-execution',
      measuredRunId: 'r1',
    });
  });

  it('without any real execution the budget is not measured, never "ok 0ms"', () => {
    const runs = [cached('r1', 0)];
    const b = checkBudgets(pipeline, runs, runs[0]!);
    for (const x of b) {
      expect(x.basis, x.subject).toBe('not-measured');
      expect(x.actualMs).toBeNull();
      expect(x.breached).toBe(false);
      expect(x.note).toMatch(/^not measured in this run/);
    }
  });

  it('a run that executed its tasks is judged on itself; later executions win over older ones', () => {
    const runs = [executed('r1', 0, 2500, 900), executed('r2', 10_000, 1500, 800), cached('r3', 20_000)];
    expect(checkBudgets(pipeline, runs, runs[1]!).map((x) => [x.subject, x.basis, x.measuredRunId])).toEqual([
      ['run', 'latest-run', 'r2'],
      ['build', 'latest-run', 'r2'],
      ['test', 'latest-run', 'r2'],
    ]);
    const b = checkBudgets(pipeline, runs, runs[2]!);
    expect(b.find((x) => x.subject === 'build')).toMatchObject({
      actualMs: 1500,
      breached: false,
      measuredRunId: 'r2',
    });
  });
});
