/**
 * The whole history is analysed: a +20% step at run 300 of 1,500 is reported (the CLI used to read
 * only the newest 1,000 runs and never saw it), and `--since` analyses a window without retiring
 * what lies before it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, normal } from '../../src/analyze/random.js';
import { pipelineYaml, type Workspace, workspace } from '../helpers/cli.js';
import { seedHistory } from './seed-history.js';

const RUNS = 1500;
const STEP_AT = 300;
const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const id = (i: number) => `run${String(i).padStart(4, '0')}`;

interface FindingJson {
  id: string;
  subject: string;
  runId: string;
  active: boolean;
  change: number;
}

let w: Workspace;

beforeAll(async () => {
  w = workspace(pipelineYaml({ build: { run: 'true' } }, { name: 'long' }));
  const g = normal(mulberry32(3));
  await seedHistory(
    w.dir,
    'long',
    Array.from({ length: RUNS }, (_, i) => ({
      id: id(i),
      startedAt: T0 + i * HOUR,
      tasks: { build: 1000 * (i >= STEP_AT ? 1.2 : 1) * (1 + 0.03 * g()) },
    })),
  );
}, 120_000);

afterAll(() => w?.cleanup());

describe('regressions over a long history', () => {
  it('reports a step at run 300 of 1,500', async () => {
    const r = await w.run(['regressions', '--json'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { runs: number; findings: FindingJson[] };
    expect(out.runs).toBe(RUNS);
    const build = out.findings.filter((f) => f.subject === 'build');
    expect(build.map((f) => f.runId)).toEqual([id(STEP_AT)]);
    expect(build[0]!.change).toBeGreaterThan(0.15);
  });

  it('--since analyses a window and keeps the findings before it', async () => {
    const since = new Date(T0 + 1000 * HOUR).toISOString();
    const r = await w.run(['regressions', '--json', '--since', since], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { runs: number; findings: FindingJson[] };
    expect(out.runs).toBe(RUNS - 1000);
    // The step lies before the window: still listed and active, not retired by the window's scan.
    expect(out.findings.filter((f) => f.subject === 'build').map((f) => [f.runId, f.active])).toEqual([
      [id(STEP_AT), true],
    ]);
    const bad = await w.run(['regressions', '--since', 'yesterdayish']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('bad --since "yesterdayish"');
  });
});
