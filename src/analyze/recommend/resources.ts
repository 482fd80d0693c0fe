/** Right-sizing recommendations: requests that cost parallelism or risk running out of memory. */
import { VPA_RULE } from '../../plan/vpa.js';
import { formatBytes } from '../../util/units.js';
import { isCacheHit } from '../history.js';
import { type RightSizing, rightSize } from '../right-size.js';
import { baseTasks, makespan, withTask } from './simulate.js';
import type { Recommendation, RecommendContext } from './types.js';

/** VPA-style estimates for every task with measured executions. */
export function rightSizings(ctx: RecommendContext): RightSizing[] {
  const out: RightSizing[] = [];
  for (const id of ctx.graph.ids) {
    const cfg = ctx.pipeline.tasks.get(id);
    const samples = ctx.runs.flatMap((r) =>
      r.tasks
        .filter(
          (t) => t.taskId === id && t.status === 'success' && !isCacheHit(t.cache) && (t.durationMs ?? 0) > 0,
        )
        .map((t) => {
          const s: { cpu?: number; memory?: number } = {};
          if (t.cpuSeconds !== null) s.cpu = (t.cpuSeconds * 1000) / t.durationMs!;
          if (t.peakRssBytes !== null && t.peakRssBytes > 0) s.memory = t.peakRssBytes;
          return s;
        }),
    );
    if (!samples.length) continue;
    const request: { cpu?: number; memory?: number } = {};
    if (cfg?.resources?.cpu !== undefined) request.cpu = cfg.resources.cpu;
    if (cfg?.resources?.memory !== undefined) request.memory = cfg.resources.memory;
    out.push(rightSize({ taskId: id, samples, request, poolCpu: ctx.capacity.cpu }));
  }
  return out;
}

/**
 * Turns right-sizing flags into recommendations. Inflated CPU requests are lowered together in one
 * simulation: two tasks that each block the other only gain when both shrink.
 */
export function resourceRecommendations(
  ctx: RecommendContext,
  sizings: readonly RightSizing[],
): Recommendation[] {
  const out: Recommendation[] = [];
  const tasks = baseTasks(ctx);
  const base = makespan(tasks, ctx.capacity);
  const lowered: { id: string; from: number; to: number; evidence: string }[] = [];
  for (const s of sizings) {
    for (const f of s.flags) {
      if (f.kind === 'cpu-over-requested' && s.cpu) {
        const cpu = Math.max(0.1, Math.ceil(s.cpu.target * 10) / 10);
        lowered.push({
          id: s.taskId,
          from: f.request,
          to: cpu,
          evidence: `${s.taskId}: requests ${f.request} cpu, ${VPA_RULE} of use = ${s.cpu.target.toFixed(2)} over ${s.samples} runs (confidence ${(s.confidence * 100).toFixed(0)}%); ${f.parallelismLost} more copies would fit the ${ctx.capacity.cpu}-cpu pool`,
        });
      } else if (f.kind === 'memory-under-requested' && s.memory) {
        out.push({
          kind: 'right-size',
          target: s.taskId,
          title: `Raise the memory request of ${s.taskId} to ${formatBytes(s.memory.target)}`,
          savedMsPerRun: 0,
          baselineMs: base,
          predictedMs: base,
          evidence: [
            `requests ${formatBytes(f.request)} but its p90 peak is ${formatBytes(f.observedP90)} over ${s.samples} runs`,
          ],
          risk: 'none in time; today the pool may pack it next to tasks it then starves of memory',
          change: `tasks.${s.taskId}.resources.memory: ${Math.ceil(s.memory.target / 1024 ** 2)}MiB`,
        });
      }
    }
  }
  let changed = tasks;
  for (const l of lowered) changed = withTask(changed, l.id, { cpu: Math.min(l.to, ctx.capacity.cpu) });
  const after = makespan(changed, ctx.capacity);
  // An oversized request that costs no time is a cost question, not a speed one: the table shows it.
  if (lowered.length && after < base) {
    out.push({
      kind: 'right-size',
      target: lowered.map((l) => l.id).join(', '),
      title: `Lower CPU requests: ${lowered.map((l) => `${l.id} ${l.from} → ${l.to}`).join(', ')}`,
      savedMsPerRun: Math.max(0, base - after),
      baselineMs: base,
      predictedMs: Math.min(base, after),
      evidence: lowered.map((l) => l.evidence),
      risk: 'a heavier future run may need more; the estimate follows the observed p90',
      change: lowered.map((l) => `tasks.${l.id}.resources.cpu: ${l.to}`).join('; '),
    });
  }
  return out;
}
