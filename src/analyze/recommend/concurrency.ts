/** Concurrency: simulate other capacities and suggest the knee of the curve when it beats today's. */
import type { Capacity } from '../../config/capacity.js';
import { formatMs } from '../../util/units.js';
import { capacityCurve } from '../capacity-curve.js';
import { mean } from '../stats.js';
import { baseTasks, makespan } from './simulate.js';
import type { Recommendation, RecommendContext } from './types.js';

/** Ignore gains under this share of the makespan: noise in the predictions is larger. */
const MIN_GAIN = 0.05;

/** Average cores a task execution keeps busy, over history; undefined when not measured. */
function meanCoreUse(ctx: RecommendContext): number | undefined {
  const uses = ctx.runs.flatMap((r) =>
    r.tasks
      .filter(
        (t) =>
          t.cpuSeconds !== null &&
          (t.durationMs ?? 0) > 0 &&
          t.cache !== 'hit-local' &&
          t.cache !== 'hit-remote',
      )
      .map((t) => (t.cpuSeconds! * 1000) / t.durationMs!),
  );
  return uses.length ? mean(uses) : undefined;
}

/** Recommends a higher concurrency when the simulated knee is above today's and saves time. */
export function concurrencyRecommendations(ctx: RecommendContext): Recommendation[] {
  const current = ctx.capacity.slots;
  const use = meanCoreUse(ctx);
  // Beyond the cores, CPU-bound tasks only slow each other down; tasks that mostly wait (I/O,
  // network, sleeps) can share them. The simulator does not model that, so cap it here.
  const ceiling = Math.min(64, Math.max(1, Math.floor(ctx.cores / Math.max(use ?? 1, 0.05))), ctx.graph.size);
  const candidates = new Set<number>([current]);
  for (let s = 1; s <= ceiling; s *= 2) candidates.add(s);
  candidates.add(ceiling);
  const points = [...candidates]
    .sort((a, b) => a - b)
    .map((s) => {
      const cap: Capacity = { slots: s, cpu: s, memory: ctx.capacity.memory };
      return { cpus: s, makespanMs: makespan(baseTasks(ctx, cap), cap) };
    });
  const rows = capacityCurve(points);
  const base = points.find((p) => p.cpus === current)!.makespanMs;
  const knee = rows.find((r) => r.knee);
  // The smallest capacity within 5% of the best: past it, more slots buy little.
  const best = Math.min(...points.map((p) => p.makespanMs));
  const pick = rows.find((r) => r.cpus >= current && r.makespanMs <= best * (1 + MIN_GAIN))!;
  if (pick.cpus <= current) return [];
  const saved = base - pick.makespanMs;
  if (saved < MIN_GAIN * base) return [];
  return [
    {
      kind: 'concurrency',
      target: 'concurrency',
      title: `Raise concurrency from ${current} to ${pick.cpus}`,
      savedMsPerRun: saved,
      baselineMs: base,
      predictedMs: pick.makespanMs,
      evidence: [
        `simulated makespan: ${points.map((p) => `${p.cpus} → ${formatMs(p.makespanMs)}`).join(', ')}`,
        `${pick.cpus} is the smallest within 5% of the best${knee ? `; the curve bends most at ${knee.cpus} (Kneedle)` : ''}`,
        use === undefined
          ? `${ctx.cores} cores; task CPU use not measured`
          : `tasks use ${use.toFixed(2)} cores on average on ${ctx.cores} cores, so up to ${ceiling} fit`,
      ],
      risk: 'more tasks at once need more memory and may contend for disk or network',
      change: `concurrency: ${pick.cpus}   (or slipway run -c ${pick.cpus})`,
    },
  ];
}
