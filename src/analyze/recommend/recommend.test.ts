import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, task } from '../../../test/analyze/fixtures.js';
import { parsePipeline } from '../../config/load.js';
import { TaskGraph } from '../../graph/graph.js';
import type { Prediction } from '../../plan/predict.js';
import type { RunRecord } from '../history.js';
import { recommend } from './index.js';
import { globsMayOverlap, mentionOf } from './structure.js';
import type { RecommendContext } from './types.js';

const GiB = 1024 ** 3;

function context(
  yaml: string,
  durations: Record<string, number>,
  runs: RunRecord[],
  slots = 2,
): RecommendContext {
  const pipeline = parsePipeline('slipway.yml', '/repo/slipway.yml', yaml);
  const graph = TaskGraph.fromPipeline(pipeline);
  const predictions = new Map<string, Prediction>(
    graph.ids.map((id) => [
      id,
      {
        durationMs: durations[id] ?? 1000,
        cpu: pipeline.tasks.get(id)?.resources?.cpu ?? 1,
        memory: 0,
        samples: 5,
      },
    ]),
  );
  return { pipeline, graph, predictions, capacity: { slots, cpu: slots, memory: 8 * GiB }, runs, cores: 8 };
}

/** Runs where each task's hash comes from `hash(taskId, i)`. */
function runs(
  ids: string[],
  n: number,
  hash: (id: string, i: number) => string,
  extra: Partial<RunRecord> = {},
) {
  return Array.from({ length: n }, (_, i) =>
    run(
      `r${i}`,
      i * 60_000,
      ids.map((id) => task(id, i * 60_000, 1000, { hash: hash(id, i), cpuSeconds: 0.9 })),
      extra,
    ),
  );
}

describe('recommendations', () => {
  it('enables caching on a slow task whose inputs repeat, with the simulated saving', () => {
    const ctx = context(
      `tasks:
  gen: { run: gen, cache: false, outputs: [gen/**] }
  build: { run: build, needs: [gen] }
`,
      { gen: 4000, build: 1000 },
      runs(['gen', 'build'], 6, (id, i) => (id === 'gen' ? 'same' : `b${i}`)),
    );
    const recs = recommend(ctx).recommendations;
    const r = recs.find((x) => x.kind === 'enable-cache')!;
    expect(r.target).toBe('gen');
    // Makespan 5000 → 50 (restore) + 1000; hash repeated in 5 of 5 later runs.
    expect(r.baselineMs).toBe(5000);
    expect(r.savedMsPerRun).toBeCloseTo(3950, 6);
    expect(r.risk).toContain('side effects');
  });

  it('flags an input that changes every run and estimates from stable dependencies', () => {
    const ctx = context(
      `tasks:
  lib: { run: lib }
  app: { run: app, needs: [lib] }
`,
      { lib: 1000, app: 3000 },
      runs(['lib', 'app'], 5, (id, i) => (id === 'lib' ? 'stable' : `a${i}`)),
    );
    const r = recommend(ctx).recommendations.find((x) => x.kind === 'fix-volatile-input')!;
    expect(r.target).toBe('app');
    expect(r.change).toContain('slipway why app');
    // lib's hash never changed: app would always hit -> 4000 - (1000 + 50).
    expect(r.savedMsPerRun).toBeCloseTo(2950, 6);
  });

  it('raises concurrency to the knee when tasks are independent', () => {
    const yaml = `tasks:\n${Array.from({ length: 8 }, (_, i) => `  t${i}: { run: x }`).join('\n')}\n`;
    const ctx = context(yaml, {}, [], 1);
    const r = recommend(ctx).recommendations.find((x) => x.kind === 'concurrency')!;
    expect(r.baselineMs).toBe(8000);
    expect(r.predictedMs).toBeLessThan(8000);
    expect(r.title).toMatch(/from 1 to \d+/);
  });

  it('splits a long critical-path task and drops a dependency that reads nothing of it', () => {
    const ctx = context(
      `tasks:
  docs: { run: docs, outputs: [site/**] }
  test: { run: test, needs: [docs], inputs: ["src/**", "test/**"] }
  lint: { run: lint }
`,
      { docs: 2000, test: 6000, lint: 500 },
      [],
    );
    const recs = recommend(ctx).recommendations;
    const split = recs.find((x) => x.kind === 'split-task')!;
    expect(split.target).toBe('test');
    // 2000 + 6000 → 2000 + 3000 with both halves in parallel on 2 slots.
    expect(split.savedMsPerRun).toBe(3000);
    const drop = recs.find((x) => x.kind === 'drop-dependency')!;
    expect(drop.target).toBe('docs -> test');
    expect(drop.savedMsPerRun).toBe(2000);
    expect(drop.evidence.join(' ')).toContain('cannot observe');
    // Ranked by savings.
    expect(recs.map((r) => r.savedMsPerRun)).toEqual(
      [...recs.map((r) => r.savedMsPerRun)].sort((a, b) => b - a),
    );
  });

  it('right-sizes an inflated CPU request that serializes the pool', () => {
    const ctx = context(
      `tasks:
  a: { run: a, resources: { cpu: 2 } }
  b: { run: b, resources: { cpu: 2 } }
`,
      { a: 1000, b: 1000 },
      runs(['a', 'b'], 10, (id, i) => `${id}${i}`).map((r) => ({
        ...r,
        tasks: r.tasks.map((t) => ({ ...t, cpuSeconds: 0.4, durationMs: 1000 })),
      })),
    );
    const { recommendations, rightSizing } = recommend(ctx);
    expect(rightSizing.find((s) => s.taskId === 'a')!.cpu!.target).toBeCloseTo(0.46, 10);
    const r = recommendations.find((x) => x.kind === 'right-size')!;
    expect(r.target).toBe('a, b');
    expect(r.change).toBe('tasks.a.resources.cpu: 0.5; tasks.b.resources.cpu: 0.5');
    // Both at 0.5 cpu fit the 2-cpu pool together (alone, neither would): 2000 → 1000.
    expect(r.savedMsPerRun).toBe(1000);
  });

  it('glob overlap errs on the side of caution', () => {
    expect(globsMayOverlap('src/**', 'dist/**')).toBe(false);
    expect(globsMayOverlap('dist/index.js', 'dist/**')).toBe(true);
    expect(globsMayOverlap('**/*.ts', 'gen/**')).toBe(true);
    expect(globsMayOverlap('packages/a/src/**', 'packages/**/dist/**')).toBe(true);
    expect(globsMayOverlap('a.txt', 'b.txt')).toBe(false);
  });

  it('a dependency whose outputs the command or input files mention is kept', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-mention-'));
    try {
      mkdirSync(path.join(dir, 'scripts'));
      writeFileSync(path.join(dir, 'scripts', 'bundle.mjs'), "const entry = join(root, 'dist', 'cli.js');\n");
      writeFileSync(path.join(dir, 'scripts', 'size.mjs'), 'console.log(1)\n');
      const yaml = `tasks:
  build: { run: tsc, outputs: [dist/**] }
  bundle: { run: node scripts/bundle.mjs, needs: [build], inputs: [scripts/bundle.mjs] }
  size: { run: node scripts/size.mjs, needs: [build], inputs: [scripts/size.mjs] }
  copy: { run: cp -r dist out, needs: [build], inputs: [scripts/size.mjs] }
`;
      const p = parsePipeline('slipway.yml', path.join(dir, 'slipway.yml'), yaml);
      expect(mentionOf(p.tasks.get('bundle')!, ['dist/**'])).toBe(
        'its input scripts/bundle.mjs mentions dist',
      );
      expect(mentionOf(p.tasks.get('copy')!, ['dist/**'])).toBe('its command mentions dist');
      expect(mentionOf(p.tasks.get('size')!, ['dist/**'])).toBeUndefined();
      expect(mentionOf(p.tasks.get('size')!, ['**/*.js'])).toContain('no fixed folder');
      const ctx = context(yaml, { build: 2000, bundle: 500, size: 500, copy: 500 }, []);
      const drops = recommend({
        ...ctx,
        pipeline: p,
        graph: TaskGraph.fromPipeline(p),
      }).recommendations.filter((r) => r.kind === 'drop-dependency');
      expect(drops.map((r) => r.target)).toEqual(['build -> size']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
