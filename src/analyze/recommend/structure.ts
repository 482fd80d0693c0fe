/**
 * Graph changes: split the longest task on the critical path, and drop a dependency whose
 * declared outputs the dependent does not declare as inputs. Slipway cannot observe which files
 * a process reads, so the dependency check rests on the declarations and says so.
 */
import path from 'node:path';
import picomatch from 'picomatch';
import { simulate } from '../../plan/simulate.js';
import { formatMs } from '../../util/units.js';
import { baseTasks, makespan } from './simulate.js';
import type { Recommendation, RecommendContext } from './types.js';

/** A task must be at least this share of the makespan to be worth splitting. */
const SPLIT_SHARE = 0.25;

/** Split the longest critical-path task in two halves that run in parallel. */
export function splitRecommendations(ctx: RecommendContext): Recommendation[] {
  const tasks = baseTasks(ctx);
  const sim = simulate(tasks, ctx.capacity);
  const base = sim.makespanMs;
  const onPath = tasks
    .filter((t) => sim.criticalPath.includes(t.id))
    .sort((a, b) => b.durationMs - a.durationMs);
  const longest = onPath[0];
  if (!longest || longest.durationMs < SPLIT_SHARE * base || ctx.capacity.slots < 2) return [];
  const a = `${longest.id}#1`;
  const b = `${longest.id}#2`;
  const split = tasks.flatMap((t) => {
    if (t.id === longest.id) {
      return [
        { ...t, id: a, durationMs: t.durationMs / 2 },
        { ...t, id: b, durationMs: t.durationMs / 2 },
      ];
    }
    return [{ ...t, needs: t.needs.flatMap((n) => (n === longest.id ? [a, b] : [n])) }];
  });
  const after = makespan(split, ctx.capacity);
  const saved = base - after;
  if (saved <= 0) return [];
  return [
    {
      kind: 'split-task',
      target: longest.id,
      title: `Split ${longest.id} into parallel parts`,
      savedMsPerRun: saved,
      baselineMs: base,
      predictedMs: after,
      evidence: [
        `on the critical path (${sim.criticalPath.join(' → ')})`,
        `${formatMs(longest.durationMs)} of a ${formatMs(base)} makespan`,
        'estimate: two even halves with no overhead',
      ],
      risk: 'only where the work divides into independent parts (test shards, per-package builds)',
      change: `replace tasks.${longest.id} with ${longest.id}-1 and ${longest.id}-2 over halves of its work`,
    },
  ];
}

/** Root-relative patterns of a task's globs. */
function rooted(root: string, cwd: string, globs: readonly string[]): string[] {
  const rel = path.relative(root, cwd);
  return globs.map((g) => (rel ? path.posix.join(rel.split(path.sep).join('/'), g) : g));
}

/** Whether two globs may match a common path; errs on "yes" when unsure. */
export function globsMayOverlap(a: string, b: string): boolean {
  const sa = picomatch.scan(a);
  const sb = picomatch.scan(b);
  if (!sa.isGlob && picomatch(b, { dot: true })(a)) return true;
  if (!sb.isGlob && picomatch(a, { dot: true })(b)) return true;
  if (!sa.isGlob && !sb.isGlob) return a === b;
  const under = (x: string, y: string) => y === '' || x === y || x.startsWith(`${y}/`);
  // One's fixed prefix lies inside the other's globbed part: they may meet.
  if (sa.isGlob && under(sb.base, sa.base)) return true;
  if (sb.isGlob && under(sa.base, sb.base)) return true;
  return false;
}

/** Drop `dep -> task` when the task declares inputs and none can match the dep's declared outputs. */
export function dependencyRecommendations(ctx: RecommendContext): Recommendation[] {
  const out: Recommendation[] = [];
  const tasks = baseTasks(ctx);
  const base = makespan(tasks, ctx.capacity);
  const root = ctx.pipeline.root;
  for (const id of ctx.graph.ids) {
    const cfg = ctx.pipeline.tasks.get(id);
    if (!cfg?.inputs?.length) continue;
    const inputs = rooted(
      root,
      cfg.cwd,
      cfg.inputs.filter((g) => !g.startsWith('!')),
    );
    for (const depId of ctx.graph.deps(id)) {
      const dep = ctx.pipeline.tasks.get(depId);
      if (!dep?.outputs.length) continue;
      const outputs = rooted(
        root,
        dep.cwd,
        dep.outputs.filter((g) => !g.startsWith('!')),
      );
      if (inputs.some((i) => outputs.some((o) => globsMayOverlap(i, o)))) continue;
      const changed = tasks.map((t) =>
        t.id === id ? { ...t, needs: t.needs.filter((n) => n !== depId) } : t,
      );
      const after = makespan(changed, ctx.capacity);
      const saved = base - after;
      if (saved <= 0) continue;
      out.push({
        kind: 'drop-dependency',
        target: `${depId} -> ${id}`,
        title: `Drop the dependency of ${id} on ${depId}`,
        savedMsPerRun: saved,
        baselineMs: base,
        predictedMs: after,
        evidence: [
          `${id} declares inputs ${cfg.inputs.join(', ')}`,
          `${depId} declares outputs ${dep.outputs.join(', ')}; none can match those inputs`,
          'Slipway cannot observe which files a process reads: this rests on the declared inputs and outputs',
        ],
        risk: `breaks ${id} if it reads files ${depId} writes without declaring them, or needs its side effects`,
        change: `remove "${depId}" from tasks.${id}.needs`,
      });
    }
  }
  return out;
}
