/**
 * The machine, not the code, end to end: a history in which the runner got 14% slower from run 30
 * for every task, and `compile` also got 30% slower by itself at run 30. `slipway regressions`
 * reports one environment finding and `compile` (beyond the machine), not `docs`, `lint` or `test`
 * (the three that moved with the machine: `compile` is judged against it, it does not vote);
 * `slipway check` fails on `compile` only and notes the machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, normal } from '../../src/analyze/random.js';
import { pipelineYaml, type Workspace, workspace } from '../helpers/cli.js';
import { seedHistory } from './seed-history.js';

const T0 = Date.UTC(2026, 0, 1);
const id = (i: number) => `run${String(i).padStart(2, '0')}`;

let w: Workspace;

beforeAll(async () => {
  w = workspace(
    pipelineYaml(
      {
        compile: { run: 'true' },
        docs: { run: 'true' },
        lint: { run: 'true' },
        test: { run: 'true', needs: ['compile'] },
      },
      { name: 'shared' },
    ),
  );
  const g = normal(mulberry32(5));
  await seedHistory(
    w.dir,
    'shared',
    Array.from({ length: 60 }, (_, i) => {
      const machine = i >= 30 ? 1.14 : 1;
      const jitter = () => machine * (1 + 0.015 * g());
      return {
        id: id(i),
        startedAt: T0 + i * 3_600_000,
        tasks: {
          compile: 800 * (i >= 30 ? 1.3 : 1) * jitter(),
          docs: 500 * jitter(),
          lint: 300 * jitter(),
          test: 1200 * jitter(),
        },
      };
    }),
  );
}, 120_000);

afterAll(() => w?.cleanup());

describe('environment findings', () => {
  it('one finding for the machine, and only the task that moved beyond it', async () => {
    const r = await w.run(['regressions', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      findings: { subject: string; runId: string }[];
      environment: {
        runId: string;
        change: number;
        tasks: { subject: string; own: boolean; beyond: number }[];
      }[];
    };
    expect(out.findings.map((f) => [f.subject, f.runId]).sort()).toEqual(
      [
        ['(environment)', id(30)],
        ['(run)', id(30)],
        ['compile', id(30)],
      ].sort(),
    );
    expect(out.environment).toHaveLength(1);
    expect(out.environment[0]!.change).toBeGreaterThan(0.1);
    expect(out.environment[0]!.tasks.map((t) => [t.subject, t.own])).toEqual([
      ['compile', true],
      ['docs', false],
      ['lint', false],
      ['test', false],
    ]);
    const text = await w.run(['regressions']);
    expect(text.stdout).toMatch(/\(environment\) {2}the machine got \+1\d\.\d% slower from run run30/);
    expect(text.stdout).toMatch(/environment: 3 of 4 tasks got slower together from run run30/);
    expect(text.stdout).toMatch(/beyond the machine: compile \+\d+\.\d%/);
  });

  it('check fails on compile, not on the machine, and notes the machine', async () => {
    const r = await w.run(['check', '--json']);
    expect(r.code, r.stdout).toBe(1);
    const c = JSON.parse(r.stdout) as {
      regressions: { subject: string }[];
      environment: { subject: string }[];
    };
    expect(c.regressions.map((f) => f.subject).sort()).toEqual(['(run)', 'compile']);
    expect(c.environment.map((f) => f.subject)).toEqual(['(environment)']);
    const text = await w.run(['check']);
    expect(text.stdout).toMatch(/^ {2}note r[0-9a-f]{7} {2}\(environment\)/m);
  });
});
