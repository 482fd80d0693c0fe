/**
 * Graph changes: split the longest task on the critical path, and drop a dependency whose
 * outputs the dependent does not read. Slipway cannot observe which files a process reads, so
 * "does not read" means: no declared input overlaps the declared outputs, and neither the command
 * nor the input files mention the outputs' folders or files. The evidence says so.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { collectMatches, globSet } from '../../cache/walk.js';
import type { TaskConfig } from '../../config/types.js';
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

const MAX_SCANNED_FILES = 200;
const MAX_SCANNED_BYTES = 256 * 1024;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Where the task's command or input files mention one of the outputs' folders or files (by last
 * path segment, e.g. "dist"); undefined when nothing does. An output glob without a fixed folder
 * cannot be searched for and counts as mentioned.
 */
export function mentionOf(task: TaskConfig, outputs: readonly string[]): string | undefined {
  const names = new Set<string>();
  for (const o of outputs) {
    const scan = picomatch.scan(o);
    const base = (scan.isGlob ? scan.base : o).replace(/\/+$/, '');
    const last = base.split('/').filter(Boolean).at(-1);
    if (!last || last === '.' || last === '..') return `output ${o} has no fixed folder to look for`;
    names.add(last);
  }
  const patterns = [...names].map((n) => ({
    n,
    re: new RegExp(`(^|[^A-Za-z0-9_-])${escapeRegExp(n)}($|[^A-Za-z0-9_-])`),
  }));
  const hit = (text: string) => patterns.find((p) => p.re.test(text))?.n;
  const inCommand = hit(task.run);
  if (inCommand) return `its command mentions ${inCommand}`;
  const files = collectMatches(task.cwd, globSet(task.inputs ?? [])).filter((e) => e.kind === 'file');
  if (files.length > MAX_SCANNED_FILES) return `too many input files to search (${files.length})`;
  for (const f of files) {
    const abs = path.join(task.cwd, f.path);
    try {
      if (statSync(abs).size > MAX_SCANNED_BYTES) return `input ${f.path} is too large to search`;
      const found = hit(readFileSync(abs, 'utf8'));
      if (found) return `its input ${f.path} mentions ${found}`;
    } catch {
      // Unreadable or vanished: nothing to learn from it.
    }
  }
  return undefined;
}

/**
 * Drop `dep -> task` when the task declares inputs, none can match the dep's declared outputs,
 * and neither its command nor its input files mention them.
 */
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
      if (
        mentionOf(
          cfg,
          dep.outputs.filter((g) => !g.startsWith('!')),
        )
      )
        continue;
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
          `neither the command of ${id} nor its input files mention those outputs`,
          'Slipway cannot observe which files a process reads: this rests on declarations and a text search',
        ],
        risk: `breaks ${id} if it reads files ${depId} writes without declaring them, or needs its side effects`,
        change: `remove "${depId}" from tasks.${id}.needs`,
      });
    }
  }
  return out;
}
