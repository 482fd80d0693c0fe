/**
 * Scheduler bench: the same npm-workspaces repository run by Turborepo (`turbo run build
 * --concurrency N --force`) and by Slipway (`slipway run -c N --force`, second run so history is
 * known), against the lower bound max(critical path, total work / N).
 */
import { rm } from 'node:fs/promises';
import { type Bound, measuredBound } from './lib/bounds.js';
import { npmRunOverheadMs, npmVersion } from './lib/calibrate.js';
import { gantt } from './lib/gantt.js';
import { type BenchGraph, criticalPath } from './lib/graph.js';
import type { BenchOptions, BenchRow } from './lib/row.js';
import { runSlipway, runTurbo } from './lib/runners.js';
import { chainShape, layeredShape } from './lib/shapes.js';
import { writeWorkspace } from './lib/workspace.js';

const SLOTS = [2, 4] as const;

/** Runs both shapes at concurrency 2 and 4 and returns one row per figure. */
export async function benchScheduler(options: BenchOptions): Promise<BenchRow[]> {
  const { root, log, quick } = options;
  const scale = quick ? 0.3 : 1;
  const npm = await npmVersion();
  const overheadMs = await npmRunOverheadMs();
  log(`scheduler: npm run costs ~${Math.round(overheadMs)} ms per task on this machine`);
  const rows: BenchRow[] = [];
  const dirs: string[] = [];
  try {
    for (const slots of SLOTS) {
      const graph = chainShape({
        slots,
        chainLength: 8,
        chainTaskMs: 1600 * scale,
        leafMs: 1000 * scale,
        overheadMs,
        fill: 0.95,
        seed: 42 + slots,
      });
      const dir = await writeWorkspace(graph, npm);
      dirs.push(dir);
      log(
        `scheduler: chain c=${slots}: ${graph.packages.length} packages in ${dir}; warm-up run for history`,
      );
      await runSlipway(root, dir, slots, 'warm-up');
      rows.push(...(await compare(root, dir, graph, slots, log, true)));
    }
    const layered = layeredShape({
      layers: 6,
      minWidth: 3,
      maxWidth: 7,
      medianMs: 1300 * scale,
      sigma: 0.7,
      minMs: 300 * scale,
      maxMs: 5000 * scale,
      seed: 7,
    });
    const dir = await writeWorkspace(layered, npm);
    dirs.push(dir);
    log(`scheduler: layered: ${layered.packages.length} packages in ${dir}; warm-up run for history`);
    await runSlipway(root, dir, 4, 'warm-up');
    for (const slots of SLOTS) rows.push(...(await compare(root, dir, layered, slots, log, false)));
  } finally {
    if (!process.env.SLIPWAY_BENCH_KEEP) for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
  return rows;
}

/** One case: turbo then Slipway on the same repository, each against the bound of its own run. */
async function compare(
  root: string,
  dir: string,
  graph: BenchGraph,
  slots: number,
  log: (line: string) => void,
  orderMatters: boolean,
): Promise<BenchRow[]> {
  const name = `${graph.shape} c=${slots}`;
  const turbo = await runTurbo(root, dir, slots);
  const slipway = await runSlipway(root, dir, slots, `c${slots}`);
  const tb = measuredBound(graph, turbo, slots);
  const sb = measuredBound(graph, slipway, slots);
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const describe = (b: Bound) =>
    `bound ${s(b.boundMs)} (critical path ${s(b.criticalPathMs)}, work/N ${s(b.perSlotMs)})`;
  log(`scheduler: ${name}: turbo ${s(turbo.wallMs)}, ${describe(tb)}`);
  log(`scheduler: ${name}: slipway ${s(slipway.wallMs)}, ${describe(sb)}`);
  // The nominal chain (sleeps only) is what the charts highlight, the same for both tools.
  const chain = new Set(criticalPath(graph, (p) => p.durationMs).path);
  const span = Math.max(turbo.wallMs, slipway.wallMs);
  log('  turbo (# = critical path):');
  for (const line of gantt(turbo.tasks, chain, span)) log(line);
  log('  slipway (# = critical path):');
  for (const line of gantt(slipway.tasks, chain, span)) log(line);
  const tRatio = turbo.wallMs / tb.boundMs;
  const sRatio = slipway.wallMs / sb.boundMs;
  const vsTurbo = slipway.wallMs / turbo.wallMs;
  const rep = slipway.reported;
  const row = (metric: string, value: number, unit: string, extra: Partial<BenchRow> = {}): BenchRow => ({
    suite: 'scheduler',
    case: name,
    metric,
    value,
    unit,
    ...extra,
  });
  return [
    row('turbo wall', turbo.wallMs, 'ms', { note: `bound ${s(tb.boundMs)} (${tb.bindsBy})` }),
    row('slipway wall', slipway.wallMs, 'ms', {
      note: `bound ${s(sb.boundMs)} (${sb.bindsBy})${rep ? `; in-run ${s(rep.durationMs)}, predicted ${s(rep.predictedMakespanMs)}` : ''}`,
    }),
    row('turbo/lower bound', tRatio, 'x'),
    row('slipway/lower bound', sRatio, 'x', {
      target: '<= 1.10',
      pass: sRatio <= 1.1,
      note: rep ? `in-run ${(rep.durationMs / sb.boundMs).toFixed(2)}` : undefined,
    }),
    row('slipway/turbo', vsTurbo, 'x', orderMatters ? { target: '<= 0.80', pass: vsTurbo <= 0.8 } : {}),
  ];
}
