/** `slipway plan --what-if workers=…`: the run simulated on scale-out workers of one slot each. */
import { afterEach, describe, expect, it } from 'vitest';
import { pipelineYaml, Workspace } from '../helpers/cli.js';

interface PlanJson {
  tasks: { id: string; durationMs: number }[];
  whatIf?: { cpus: number; workers?: number; makespanMs: number; lowerBoundMs: number }[];
}

describe('plan --what-if workers=', () => {
  let w: Workspace;
  afterEach(() => w?.cleanup());

  it('simulates 1, 2, 4 and 8 workers, each task paying the dispatch overhead, and prints the table', async () => {
    w = new Workspace();
    const tasks = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`t${i}`, { run: 'true' }]));
    w.pipeline(pipelineYaml(tasks));
    const r = await w.run(['plan', '--json', '--what-if', 'workers=8,1,2,4']);
    expect(r.code, r.stderr).toBe(0);
    const p = JSON.parse(r.stdout) as PlanJson;
    expect(p.whatIf?.map((x) => x.workers)).toEqual([1, 2, 4, 8]);
    const work = p.tasks.reduce((s, t) => s + t.durationMs, 0);
    const [one, two, four, eight] = p.whatIf!;
    // One worker: every task in series, each paying its dispatch on top.
    expect(one!.makespanMs).toBeGreaterThan(work);
    expect(two!.makespanMs).toBeLessThan(one!.makespanMs);
    expect(four!.makespanMs).toBeLessThan(two!.makespanMs);
    expect(eight!.makespanMs).toBeLessThan(four!.makespanMs);
    for (const x of p.whatIf!) expect(x.makespanMs).toBeGreaterThanOrEqual(x.lowerBoundMs);

    const text = await w.run(['plan', '--what-if', 'workers=1,2']);
    expect(text.stdout).toMatch(/What if \(scale-out workers of one slot each, \d+ ms dispatch per task\):/);
    expect(text.stdout).toMatch(/^\s+workers\s+makespan\s+lower bound\s+speedup$/m);
    expect(text.stdout).toMatch(/^\s+2\s+\S+/m);
  });

  it('a bad spec is a usage error naming both forms', async () => {
    w = new Workspace();
    w.pipeline(pipelineYaml({ a: { run: 'true' } }));
    const r = await w.run(['plan', '--what-if', 'machines=2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad --what-if "machines=2"/);
    expect(r.stderr).toMatch(/workers=1,2,4,8/);
  });
});
