/**
 * Caching recommendations from recorded task hashes: a task with caching off whose inputs repeat
 * (a deterministic task would restore instead of running), and a cached task whose hash changes
 * every run (a volatile input defeats its cache).
 */
import { formatMs } from '../../util/units.js';
import { isCacheHit, type RunRecord } from '../history.js';
import { median } from '../stats.js';
import { baseTasks, makespan, withTask } from './simulate.js';
import type { Recommendation, RecommendContext } from './types.js';

const MIN_RUNS = 3;
/** Below this a task is not "slow": the hit would save less than the bookkeeping costs. */
const MIN_DURATION_MS = 500;
const DEFAULT_RESTORE_MS = 50;

interface HashStats {
  runs: number;
  distinct: number;
  /** Share of executions (after the first) whose hash had been seen before: what a cache would hit. */
  repeatRate: number;
}

/** Hash repetition of a task over runs, oldest first. */
function hashStats(runs: readonly RunRecord[], taskId: string): HashStats {
  const seen = new Set<string>();
  let n = 0;
  let repeats = 0;
  for (const r of runs) {
    const t = r.tasks.find((x) => x.taskId === taskId);
    if (!t?.hash || t.status !== 'success') continue;
    if (n > 0 && seen.has(t.hash)) repeats++;
    seen.add(t.hash);
    n++;
  }
  return { runs: n, distinct: seen.size, repeatRate: n > 1 ? repeats / (n - 1) : 0 };
}

/** Typical time to restore a hit, from the hits in history. */
function restoreMs(runs: readonly RunRecord[]): number {
  const hits = runs.flatMap((r) => r.tasks.filter((t) => isCacheHit(t.cache) && t.durationMs !== null));
  return hits.length ? median(hits.map((t) => t.durationMs!)) : DEFAULT_RESTORE_MS;
}

/**
 * Share of consecutive runs in which none of the task's dependencies changed hash: how often the
 * task would hit once its own volatile input is fixed. Undefined when it cannot be told.
 */
function stableUpstreamRate(
  ctx: RecommendContext,
  taskId: string,
): { rate: number; basis: string } | undefined {
  const deps = ctx.graph.deps(taskId);
  const runs = ctx.runs.filter((r) => r.status === 'success');
  if (runs.length < MIN_RUNS) return undefined;
  let pairs = 0;
  let stable = 0;
  for (let i = 1; i < runs.length; i++) {
    const a = runs[i - 1]!;
    const b = runs[i]!;
    if (deps.length) {
      const same = deps.every((d) => {
        const ha = a.tasks.find((t) => t.taskId === d)?.hash;
        const hb = b.tasks.find((t) => t.taskId === d)?.hash;
        return ha && ha === hb;
      });
      pairs++;
      if (same) stable++;
    } else if (a.gitSha && b.gitSha) {
      pairs++;
      if (a.gitSha === b.gitSha) stable++;
    }
  }
  if (!pairs) return undefined;
  return {
    rate: stable / pairs,
    basis: deps.length
      ? `its dependencies' hashes were unchanged in ${stable} of ${pairs} consecutive runs`
      : `the commit was unchanged in ${stable} of ${pairs} consecutive runs`,
  };
}

/** Enable caching on slow tasks whose inputs repeat; fix inputs that change on every run. */
export function cachingRecommendations(ctx: RecommendContext): Recommendation[] {
  const out: Recommendation[] = [];
  const tasks = baseTasks(ctx);
  const base = makespan(tasks, ctx.capacity);
  const restore = restoreMs(ctx.runs);
  for (const id of ctx.graph.ids) {
    const cfg = ctx.pipeline.tasks.get(id);
    const pred = ctx.predictions.get(id);
    if (!cfg || !pred || pred.samples === 0 || pred.durationMs < MIN_DURATION_MS) continue;
    const h = hashStats(ctx.runs, id);
    if (h.runs < MIN_RUNS) continue;
    const restored = makespan(
      withTask(tasks, id, { durationMs: Math.min(restore, pred.durationMs) }),
      ctx.capacity,
    );

    if (!cfg.cache && !cfg.tags.includes('deploy') && h.repeatRate >= 0.5) {
      const saved = h.repeatRate * (base - restored);
      out.push({
        kind: 'enable-cache',
        target: id,
        title: `Enable caching on ${id}`,
        savedMsPerRun: saved,
        baselineMs: base,
        predictedMs: base - saved,
        evidence: [
          `cache: false, yet its input hash repeated in ${Math.round(h.repeatRate * 100)}% of ${h.runs} runs (${h.distinct} distinct)`,
          `median uncached duration ${formatMs(pred.durationMs)}; a restore takes ~${formatMs(restore)}`,
          cfg.outputs.length ? `declared outputs: ${cfg.outputs.join(', ')}` : 'declares no outputs',
        ],
        risk: cfg.outputs.length
          ? 'safe only if the task has no side effects beyond its declared outputs'
          : 'high: it declares no outputs, so a hit restores nothing; declare what it writes first',
        change: `tasks.${id}.cache: true${cfg.outputs.length ? '' : ` (and declare tasks.${id}.outputs)`}`,
      });
    } else if (cfg.cache && h.distinct === h.runs && h.runs >= MIN_RUNS) {
      const misses = ctx.runs.flatMap((r) =>
        r.tasks.filter((t) => t.taskId === id && t.cache === 'miss'),
      ).length;
      const upstream = stableUpstreamRate(ctx, id);
      if (!upstream || misses === 0) continue;
      const saved = upstream.rate * (base - restored);
      if (saved <= 0) continue;
      out.push({
        kind: 'fix-volatile-input',
        target: id,
        title: `Fix the input of ${id} that changes on every run`,
        savedMsPerRun: saved,
        baselineMs: base,
        predictedMs: base - saved,
        evidence: [
          `${h.runs} runs, ${h.distinct} different hashes: it never hit the cache`,
          `${upstream.basis}, so it would hit that often once fixed`,
          `median duration ${formatMs(pred.durationMs)}`,
        ],
        risk: 'low; the input may be a timestamp, a generated file or an unpinned env value',
        change: `run \`slipway why ${id}\` to see which input differs, then exclude or pin it`,
      });
    }
  }
  return out;
}
