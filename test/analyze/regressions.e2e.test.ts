/**
 * Regressions end to end: a pipeline whose `work` task sleeps for a duration read from a file runs
 * enough times to make a history; the duration is raised by 30% part-way; `slipway regressions
 * --json` must name `work` at the first slow run while its neighbours stay clean, and `slipway
 * check` must fail until the finding is acknowledged.
 *
 * Noise: a task's duration includes process start-up, which on a busy shared machine (load 10+
 * on 2 cores while other suites run) varies by 50–300 ms, often in bursts over a few consecutive
 * runs, and sometimes for longer (another job compiling for minutes adds a steady 40-100 ms to
 * every spawn: a real shift of the machine). So `work` sleeps 2 s (then 2.6 s): the 600 ms shift
 * clears that jitter, the change lands on the right run, and each regime has enough runs (12 and
 * 7, above the 3-run minimum regime and longer than a 5-run burst) for p ≤ 0.001. The neighbours
 * sleep 1.5 s: a steady start-up shift of a few tens of ms stays under the magnitude floor there (it was flagged
 * as a real 8-9% slowdown of a 0.5 s neighbour), while bursts still test the false-positive
 * guards.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipelineYaml, type Workspace, workspace } from '../helpers/cli.js';

const BEFORE = 12;
const AFTER = 7;
const BASE_S = 2;

interface FindingJson {
  id: string;
  subject: string;
  direction: string;
  runId: string;
  previousRunId: string | null;
  meanBefore: number;
  meanAfter: number;
  change: number;
  magnitude: number;
  pValue: number;
  open: boolean;
}

let w: Workspace;
const runIds: string[] = [];

function yaml(budgetWork: string): string {
  return pipelineYaml(
    {
      prep: { run: 'sleep 1.5', cache: false },
      work: { run: 'sleep "$(cat duration.txt)"', needs: ['prep'], cache: false },
      lint: { run: 'sleep 1.5', needs: ['prep'], cache: false },
    },
    { budgets: { tasks: { work: budgetWork } } },
  );
}

beforeAll(async () => {
  w = workspace(yaml('10s'));
  for (let i = 0; i < BEFORE + AFTER; i++) {
    w.write('duration.txt', String(i < BEFORE ? BASE_S : BASE_S * 1.3));
    const r = await w.run(['run', '-c', '2', '--summary', 'summary.json']);
    expect(r.code, r.stderr).toBe(0);
    runIds.push(w.json<{ id: string }>('summary.json').id);
  }
}, 240_000);

afterAll(() => w?.cleanup());

describe('regressions over a real history', () => {
  it('reports the slowed task at the first slow run, and only it', async () => {
    const r = await w.run(['regressions', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { runs: number; findings: FindingJson[] };
    expect(out.runs).toBe(BEFORE + AFTER);
    const tasks = out.findings.filter((f) => f.subject !== '(run)');
    expect(
      tasks.map((f) => f.subject),
      `${r.stdout}\nruns: ${runIds.join(' ')}`,
    ).toEqual(['work']);
    const f = tasks[0]!;
    expect(f.runId, `run ${runIds.indexOf(f.runId)} of ${runIds.length}`).toBe(runIds[BEFORE]);
    expect(f.previousRunId).toBe(runIds[BEFORE - 1]);
    expect(f.direction).toBe('slower');
    expect(f.pValue).toBeLessThanOrEqual(0.001);
    expect(f.change).toBeGreaterThan(0.2);
    expect(f.change).toBeLessThan(0.4);
    expect(f.meanAfter).toBeGreaterThan(f.meanBefore);
    expect(f.open).toBe(true);
    // The run total moved too; it adds every task's start-up jitter, so it may place the change a
    // run or two off.
    const whole = out.findings.find((x) => x.subject === '(run)');
    if (whole) expect(Math.abs(runIds.indexOf(whole.runId) - BEFORE)).toBeLessThanOrEqual(2);
  });

  it('keeps the finding id across detections', async () => {
    const a = JSON.parse((await w.run(['regressions', '--json'])).stdout) as { findings: FindingJson[] };
    const b = JSON.parse((await w.run(['regressions', '--json'])).stdout) as { findings: FindingJson[] };
    expect(b.findings.map((f) => f.id)).toEqual(a.findings.map((f) => f.id));
  });

  it('check fails on the open regression, with GitHub annotations and a step summary', async () => {
    const summary = w.path('step-summary.md');
    const r = await w.run(['check'], { env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary } });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/FAIL regression r[0-9a-f]{7}\s+work\s+slower/);
    // Workflow-command data escapes % as %25.
    expect(r.stdout).toMatch(
      /^::error title=Slipway performance regression::task work got \+\d+\.\d%25 slower/m,
    );
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('## Slipway check: ❌ failed');
    expect(md).toContain('| work |');
  });

  it('passes once every open regression is acknowledged, and fails again on a budget breach', async () => {
    const list = JSON.parse((await w.run(['regressions', '--json'])).stdout) as { findings: FindingJson[] };
    const ids = list.findings.filter((f) => f.open).map((f) => f.id);
    const ack = await w.run(['regressions', 'ack', ...ids, '--note', 'bigger input on purpose']);
    expect(ack.code, ack.stderr).toBe(0);
    expect(ack.stdout).toContain('acknowledged');
    const ok = await w.run(['check']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);

    // A budget below what `work` takes now: exit 1, annotated at the budget's line in slipway.yml.
    w.pipeline(yaml('2s'));
    const over = await w.run(['check'], { env: { GITHUB_ACTIONS: 'true' } });
    expect(over.code, over.stdout).toBe(1);
    expect(over.stdout).toMatch(/FAIL budget work: .* \/ 2\.00s \(over by/);
    expect(over.stdout).toMatch(
      /^::error file=slipway\.yml,line=\d+,col=\d+,title=Slipway budget exceeded::task work took/m,
    );
  });

  it('rejects a budget for a task the pipeline does not have, with its location', async () => {
    w.pipeline(yaml('10s').replace('work: 10s', 'wrok: 10s'));
    const r = await w.run(['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/slipway\.yml:\d+:\d+: error: budget for unknown task "wrok"/);
    expect(r.stderr).toContain('did you mean "work"?');
    w.pipeline(yaml('10s'));
  });

  it('report shows the regression and ranks recommendations', async () => {
    const r = await w.run(['report', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout) as {
      window: { runs: number };
      regressions: { findings: FindingJson[] };
      recommendations: { savedMsPerRun: number }[];
      metrics: { pipelineMetrics: { total: { count: number } } };
    };
    expect(rep.window.runs).toBe(BEFORE + AFTER);
    expect(rep.metrics.pipelineMetrics.total.count).toBe(BEFORE + AFTER);
    expect(rep.regressions.findings.some((f) => f.subject === 'work')).toBe(true);
    const saved = rep.recommendations.map((x) => x.savedMsPerRun);
    expect(saved).toEqual([...saved].sort((a, b) => b - a));
    const text = await w.run(['report']);
    expect(text.stdout).toContain('Regressions');
    expect(text.stdout).toMatch(/work\s+slower \+\d/);
    const md = await w.run(['report', '--markdown', 'report.md']);
    expect(md.code, md.stderr).toBe(0);
    expect(w.read('report.md')).toContain('## Slipway report');
    expect((await w.run(['report', '--markdown', '-'])).stdout).toContain('## Slipway report');
  });
});
