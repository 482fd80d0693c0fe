/**
 * Scheduler bench: the same npm-workspaces repository run by Turborepo (`turbo run build
 * --concurrency N --force`) and by Slipway (`slipway run -c N --force`, second run so history is
 * known), against the lower bound max(critical path, total work / N).
 */
import { rm } from 'node:fs/promises';
import { median, npmRunOverheadMs, npmVersion } from './lib/calibrate.js';
import { gantt } from './lib/gantt.js';
import { type BenchGraph, type BenchPackage, criticalPath, totalWorkMs } from './lib/graph.js';
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
        chainTaskMs: 1500 * scale,
        leafMs: 800 * scale,
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
      medianMs: 1200 * scale,
      sigma: 0.7,
      minMs: 200 * scale,
      maxMs: 6000 * scale,
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

/** One case: turbo then Slipway on the same repository, and the figures against the lower bound. */
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
  // Work = each sleep plus what starting `npm run build` really cost in these runs (both tools
  // pay it), so the bound is one no scheduler could beat on this machine today.
  const nominal = new Map(graph.packages.map((p) => [p.name, p.durationMs]));
  const overheads = [...turbo.tasks, ...slipway.tasks].flatMap((t) => {
    const n = nominal.get(t.id);
    return n === undefined ? [] : [t.endMs - t.startMs - n];
  });
  const overheadMs = Math.max(0, median(overheads));
  const work = (p: BenchPackage) => p.durationMs + overheadMs;
  const critical = criticalPath(graph, work);
  const cp = critical.lengthMs;
  const perSlot = totalWorkMs(graph, work) / slots;
  const bound = Math.max(cp, perSlot);
  const bindsBy = cp >= perSlot ? 'critical path' : 'work/N';
  log(
    `scheduler: ${name}: lower bound ${(bound / 1000).toFixed(1)} s (critical path ${(cp / 1000).toFixed(1)} s, ` +
      `work/N ${(perSlot / 1000).toFixed(1)} s, ${Math.round(overheadMs)} ms npm per task); ` +
      `turbo ${(turbo.wallMs / 1000).toFixed(1)} s, slipway ${(slipway.wallMs / 1000).toFixed(1)} s`,
  );
  const chain = new Set(critical.path);
  const span = Math.max(turbo.wallMs, slipway.wallMs);
  log(`  turbo (# = critical path):`);
  for (const line of gantt(turbo.tasks, chain, span)) log(line);
  log(`  slipway (# = critical path):`);
  for (const line of gantt(slipway.tasks, chain, span)) log(line);
  const sRatio = slipway.wallMs / bound;
  const vsTurbo = slipway.wallMs / turbo.wallMs;
  const predicted = slipway.reported?.predictedMakespanMs;
  return [
    {
      suite: 'scheduler',
      case: name,
      metric: 'lower bound',
      value: bound,
      unit: 'ms',
      note: `bound by ${bindsBy}`,
    },
    { suite: 'scheduler', case: name, metric: 'turbo wall', value: turbo.wallMs, unit: 'ms' },
    {
      suite: 'scheduler',
      case: name,
      metric: 'slipway wall',
      value: slipway.wallMs,
      unit: 'ms',
      note: predicted ? `predicted ${(predicted / 1000).toFixed(1)} s` : undefined,
    },
    { suite: 'scheduler', case: name, metric: 'turbo/lower bound', value: turbo.wallMs / bound, unit: 'x' },
    {
      suite: 'scheduler',
      case: name,
      metric: 'slipway/lower bound',
      value: sRatio,
      unit: 'x',
      target: '<= 1.10',
      pass: sRatio <= 1.1,
    },
    {
      suite: 'scheduler',
      case: name,
      metric: 'slipway/turbo',
      value: vsTurbo,
      unit: 'x',
      ...(orderMatters ? { target: '<= 0.80', pass: vsTurbo <= 0.8 } : {}),
    },
  ];
}
