/** `slipway graph` in its three formats, and `slipway plan` (--json, --what-if), which runs nothing. */
import { afterAll, describe, expect, it } from 'vitest';
import { pipelineYaml, readSummary, STACK_FRAME, type Workspace, workspace } from '../helpers/cli.js';

const made: Workspace[] = [];
afterAll(() => {
  for (const w of made) w.cleanup();
});
function ws(yaml: string): Workspace {
  const w = workspace(yaml);
  made.push(w);
  return w;
}

const touch = (id: string) => `touch ${id}.ran`;
const diamond = pipelineYaml({
  a: { run: touch('a') },
  b: { run: touch('b'), needs: ['a'] },
  c: { run: touch('c'), needs: ['a'] },
  d: { run: touch('d'), needs: ['b', 'c'] },
  solo: { run: touch('solo') },
});
const EDGES = [
  ['a', 'b'],
  ['a', 'c'],
  ['b', 'd'],
  ['c', 'd'],
] as const;

interface PlanJson {
  predictedMakespanMs: number;
  lowerBoundMs: number;
  criticalPath: string[];
  tasks: { order: number; id: string; startMs: number; endMs: number; durationMs: number; samples: number }[];
  whatIf?: { cpus: number; makespanMs: number; lowerBoundMs: number }[];
}

describe('slipway graph', () => {
  it('--format json lists nodes and dependency -> dependent edges', async () => {
    const w = ws(diamond);
    const r = await w.run(['graph', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const g = JSON.parse(r.stdout) as { nodes: string[]; edges: { from: string; to: string }[] };
    expect([...g.nodes].sort()).toEqual(['a', 'b', 'c', 'd', 'solo']);
    const edges = g.edges.map((e) => `${e.from}->${e.to}`).sort();
    expect(edges).toEqual(EDGES.map(([f, t]) => `${f}->${t}`).sort());
  });

  it('--format dot is a digraph with every node and edge', async () => {
    const w = ws(diamond);
    const r = await w.run(['graph', '--format', 'dot']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^digraph\b/);
    expect(r.stdout.trim().endsWith('}')).toBe(true);
    expect(r.stdout).toMatch(/"solo"/);
    for (const [f, t] of EDGES) expect(r.stdout).toMatch(new RegExp(`"${f}"\\s*->\\s*"${t}"`));
    expect(r.stdout.match(/->/g)).toHaveLength(EDGES.length);
  });

  it('--format mermaid is a flowchart with every node and edge', async () => {
    const w = ws(diamond);
    const r = await w.run(['graph', '--format', 'mermaid']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^(graph|flowchart) (LR|TD|TB)/);
    // Nodes are declared as key["label"]; map labels back to keys to check the edges.
    const key = new Map<string, string>();
    for (const m of r.stdout.matchAll(/^\s*(\S+)\["?([^"\]]+)"?\]/gm)) key.set(m[2]!, m[1]!);
    expect([...key.keys()].sort()).toEqual(['a', 'b', 'c', 'd', 'solo']);
    for (const [f, t] of EDGES) expect(r.stdout).toContain(`${key.get(f)} --> ${key.get(t)}`);
    expect(r.stdout.match(/-->/g)).toHaveLength(EDGES.length);
  });

  it('with a target, only it and its dependencies', async () => {
    const w = ws(diamond);
    const r = await w.run(['graph', 'b', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { nodes: string[] }).nodes.sort()).toEqual(['a', 'b']);
  });

  it('an unknown format is a usage error (exit 2, no stack trace)', async () => {
    const w = ws(diamond);
    const r = await w.run(['graph', '--format', 'png']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('png');
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('slipway plan', () => {
  it('--json gives order, predicted start/end, critical path and makespan, and runs nothing', async () => {
    const w = ws(diamond);
    const r = await w.run(['plan', '--json', '-c', '2']);
    expect(r.code, r.stderr).toBe(0);
    const p = JSON.parse(r.stdout) as PlanJson;
    expect(p.tasks.map((t) => t.id).sort()).toEqual(['a', 'b', 'c', 'd', 'solo']);
    expect(p.tasks.map((t) => t.order)).toEqual([1, 2, 3, 4, 5]);
    const at = new Map(p.tasks.map((t) => [t.id, t]));
    for (const t of p.tasks) {
      expect(t.endMs - t.startMs).toBe(t.durationMs);
      expect(t.samples).toBe(0); // no history yet
    }
    // Listed in start order; dependencies end before dependents start.
    for (let i = 1; i < p.tasks.length; i++)
      expect(p.tasks[i]!.startMs).toBeGreaterThanOrEqual(p.tasks[i - 1]!.startMs);
    for (const [f, t] of EDGES) expect(at.get(t)!.startMs).toBeGreaterThanOrEqual(at.get(f)!.endMs);
    // With equal priors the critical path is a -> (b|c) -> d and the makespan is its length.
    expect(p.criticalPath).toHaveLength(3);
    expect(p.criticalPath[0]).toBe('a');
    expect(['b', 'c']).toContain(p.criticalPath[1]);
    expect(p.criticalPath[2]).toBe('d');
    const cpLength = p.criticalPath.reduce((s, id) => s + at.get(id)!.durationMs, 0);
    expect(p.predictedMakespanMs).toBe(Math.max(...p.tasks.map((t) => t.endMs)));
    expect(p.predictedMakespanMs).toBe(cpLength);
    expect(p.lowerBoundMs).toBeLessThanOrEqual(p.predictedMakespanMs);
    // Nothing ran, nothing was recorded.
    for (const id of ['a', 'b', 'c', 'd', 'solo']) expect(w.exists(`${id}.ran`)).toBe(false);
    const h = await w.run(['history', '--json']);
    expect(JSON.parse(h.stdout)).toEqual([]);
  });

  it('learns from history: after a run, predictions rest on samples', async () => {
    const w = ws(pipelineYaml({ nap: { run: 'sleep 0.3' }, after: { run: 'true', needs: ['nap'] } }));
    const before = JSON.parse((await w.run(['plan', '--json'])).stdout) as PlanJson;
    expect(before.tasks.map((t) => t.samples)).toEqual([0, 0]);
    expect((await w.run(['run', '--summary', 'summary.json'])).code).toBe(0);
    const measured = readSummary(w).byId;
    const p = JSON.parse((await w.run(['plan', '--json'])).stdout) as PlanJson;
    // One sample each: the prediction is that sample, whatever the machine's load made it (the
    // summary rounds to whole milliseconds). Compared with the run's record, never the clock.
    for (const id of ['nap', 'after']) {
      const t = p.tasks.find((x) => x.id === id)!;
      expect(t.samples, id).toBe(1);
      expect(Math.abs(t.durationMs - measured.get(id)!.durationMs), id).toBeLessThanOrEqual(1);
    }
  });

  it('the text output names the makespan and the critical path', async () => {
    const w = ws(diamond);
    const r = await w.run(['plan', '-c', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/makespan/i);
    expect(r.stdout).toMatch(/critical path/i);
    for (const id of ['a', 'b', 'c', 'd', 'solo']) expect(r.stdout).toContain(id);
  });

  it('--what-if cpus=1,2,4 gives one makespan per capacity, non-increasing', async () => {
    // Six independent tasks and a chain of two: more capacity helps up to the chain's length.
    const w = ws(
      pipelineYaml({
        w1: { run: 'true' },
        w2: { run: 'true' },
        w3: { run: 'true' },
        w4: { run: 'true' },
        w5: { run: 'true' },
        head: { run: 'true' },
        tail: { run: 'true', needs: ['head'] },
      }),
    );
    const r = await w.run(['plan', '--json', '--what-if', 'cpus=1,2,4']);
    expect(r.code, r.stderr).toBe(0);
    const p = JSON.parse(r.stdout) as PlanJson;
    expect(p.whatIf?.map((x) => x.cpus)).toEqual([1, 2, 4]);
    const [one, two, four] = p.whatIf!;
    const work = p.tasks.reduce((s, t) => s + t.durationMs, 0);
    // One cpu: everything in series.
    expect(one!.makespanMs).toBe(work);
    expect(two!.makespanMs).toBeLessThanOrEqual(one!.makespanMs);
    expect(four!.makespanMs).toBeLessThanOrEqual(two!.makespanMs);
    expect(four!.makespanMs).toBeLessThan(one!.makespanMs);
    for (const x of p.whatIf!) expect(x.makespanMs).toBeGreaterThanOrEqual(x.lowerBoundMs);
    // Nothing ran.
    const h = await w.run(['history', '--json']);
    expect(JSON.parse(h.stdout)).toEqual([]);
  });

  it('--what-if text output lists each capacity', async () => {
    const w = ws(diamond);
    const r = await w.run(['plan', '--what-if', 'cpus=1,2,4']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/what if/i);
    for (const n of [1, 2, 4]) expect(r.stdout).toMatch(new RegExp(`^\\s+${n}\\s+\\S`, 'm'));
  });

  it('a malformed --what-if is a usage error (exit 2, no stack trace)', async () => {
    const w = ws(diamond);
    const r = await w.run(['plan', '--what-if', 'cpus=two']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/what-if/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });

  it('a bad pipeline file makes plan and graph exit 2 with the located diagnostic', async () => {
    const w = ws(['version: 1', 'tasks:', '  a:', '    run: echo', '    needs: [a]', ''].join('\n'));
    for (const cmd of [['plan'], ['graph'], ['run']]) {
      const r = await w.run(cmd);
      expect(r.code, cmd.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^slipway\.yml:5:\d+: error: dependency cycle: a -> a$/m);
      expect(r.stderr).not.toMatch(STACK_FRAME);
    }
  });
});
