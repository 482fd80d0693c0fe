import type { Command } from 'commander';
import { capacityCurve } from '../analyze/capacity-curve.js';
import type { Pipeline } from '../config/types.js';
import { TaskGraph } from '../graph/graph.js';
import { type Capacity, capacityFor } from '../plan/capacity.js';
import { predict, simTasks } from '../plan/predict.js';
import { simulate } from '../plan/simulate.js';
import { type Store, withStore } from '../store/store.js';
import { formatMs } from '../util/units.js';
import { action, type CliContext, globals, pipelineFrom, UsageError } from './context.js';
import { positiveInt } from './options.js';

interface PlanOptions {
  concurrency?: number;
  json?: boolean;
  whatIf?: number[];
  costPerCpuHour?: number;
}

/** Parses "cpus=1,2,4,8". */
export function parseWhatIf(v: string): number[] {
  const m = /^cpus=([\d,\s]+)$/.exec(v.trim());
  const list = m?.[1]?.split(',').map((s) => Number(s.trim()));
  if (!list?.length || list.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new UsageError(`bad --what-if "${v}"`, 'write a list of capacities such as --what-if cpus=1,2,4,8');
  }
  return [...new Set(list)].sort((a, b) => a - b);
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('plan')
    .description(
      'show the predicted schedule (order, start and end times, critical path, makespan); runs nothing',
    )
    .argument('[tasks...]', 'tasks to plan, with their dependencies (default: all)')
    .option('-c, --concurrency <n>', 'tasks running at once', positiveInt('--concurrency'))
    .option('--json', 'machine-readable output')
    .option('--what-if <spec>', 'simulate other capacities, e.g. cpus=1,2,4,8', parseWhatIf)
    .option(
      '--cost-per-cpu-hour <price>',
      'with --what-if: cost per run at this price per CPU-hour',
      parsePrice,
    )
    .action(
      action(ctx, async (tasks: string[], opts: PlanOptions, cmd: Command) => {
        const pipeline = await pipelineFrom(cmd, { snapshot: true });
        return withStore({ url: globals(cmd).store, root: pipeline.root, create: false }, async (store) => {
          return await plan(ctx, pipeline, await selectGraph(pipeline, tasks), opts, store);
        });
      }),
    );
}

async function selectGraph(pipeline: Pipeline, tasks: string[]): Promise<TaskGraph> {
  const full = TaskGraph.fromPipeline(pipeline);
  const unknown = tasks.find((t) => !full.has(t));
  if (unknown) throw new UsageError(`unknown task "${unknown}"`, `tasks: ${full.ids.join(', ')}`);
  return full.select(tasks.length ? tasks : full.ids);
}

async function plan(
  ctx: CliContext,
  pipeline: Pipeline,
  graph: TaskGraph,
  opts: PlanOptions,
  store: Store,
): Promise<number> {
  const predictions = await predict(store, pipeline, graph);
  const capacity = capacityFor(pipeline, opts.concurrency);
  const sim = simulate(simTasks(graph, predictions, capacity), capacity);
  const whatIf = (opts.whatIf ?? []).map((n) => {
    const cap: Capacity = { slots: n, cpu: n, memory: capacity.memory };
    const r = simulate(simTasks(graph, predictions, cap), cap);
    return { cpus: n, makespanMs: r.makespanMs, lowerBoundMs: r.lowerBoundMs };
  });
  // Cost per run and the knee of the curve (src/analyze/capacity-curve.ts).
  const curve = capacityCurve(whatIf, opts.costPerCpuHour);
  const costed = whatIf.map((w) => {
    const c = curve.find((x) => x.cpus === w.cpus)!;
    return { ...w, ...(c.costPerRun !== undefined ? { costPerRun: c.costPerRun } : {}), knee: c.knee };
  });
  const onPath = new Set(sim.criticalPath);
  const rows = sim.schedule.map((s, i) => {
    const p = predictions.get(s.id)!;
    return {
      order: i + 1,
      id: s.id,
      startMs: s.startMs,
      endMs: s.endMs,
      durationMs: p.durationMs,
      cpu: Math.min(p.cpu, capacity.cpu),
      memory: Math.min(p.memory, capacity.memory),
      samples: p.samples,
      critical: onPath.has(s.id),
    };
  });
  if (opts.json) {
    ctx.stdout.write(
      `${JSON.stringify(
        {
          pipeline: pipeline.name,
          capacity,
          predictedMakespanMs: sim.makespanMs,
          lowerBoundMs: sim.lowerBoundMs,
          criticalPath: sim.criticalPath,
          tasks: rows,
          ...(opts.whatIf ? { whatIf: costed } : {}),
        },
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  const known = rows.filter((r) => r.samples > 0).length;
  const w = Math.max(4, ...rows.map((r) => r.id.length));
  const out = [
    `Plan for ${pipeline.name}: ${rows.length} tasks, concurrency ${capacity.slots}, cpu ${capacity.cpu} (history for ${known} of ${rows.length} tasks)`,
    '',
    `    #  ${'task'.padEnd(w)}  ${'start'.padStart(8)}  ${'end'.padStart(8)}  ${'dur'.padStart(8)}  cpu`,
    ...rows.map(
      (r) =>
        `  ${r.critical ? '*' : ' '}${String(r.order).padStart(2)}  ${r.id.padEnd(w)}  ${formatMs(r.startMs).padStart(8)}  ${formatMs(r.endMs).padStart(8)}  ${formatMs(r.durationMs).padStart(8)}  ${r.cpu}${r.samples ? '' : '  (no history: prior)'}`,
    ),
    '',
    `Predicted makespan ${formatMs(sim.makespanMs)}; lower bound ${formatMs(sim.lowerBoundMs)}`,
    `Critical path (*): ${sim.criticalPath.join(' → ') || '-'}`,
  ];
  if (whatIf.length) {
    const priced = opts.costPerCpuHour !== undefined;
    out.push(
      '',
      'What if (cpus = concurrency):',
      `   cpus  makespan  lower bound  speedup${priced ? '  cost/run' : ''}`,
    );
    const base = whatIf[0]!.makespanMs;
    for (const r of costed) {
      out.push(
        `  ${String(r.cpus).padStart(5)}  ${formatMs(r.makespanMs).padStart(8)}  ${formatMs(r.lowerBoundMs).padStart(11)}  ${`${(base / Math.max(1, r.makespanMs)).toFixed(2)}×`.padStart(7)}${priced ? `  ${formatCost(r.costPerRun ?? 0).padStart(8)}` : ''}${r.knee ? '  ← knee' : ''}`,
      );
    }
    if (costed.some((r) => r.knee)) out.push('  knee: past it, more CPUs buy little time (Kneedle)');
  }
  ctx.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

/** Parses a non-negative price such as 0.05. */
function parsePrice(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    throw new UsageError(`bad --cost-per-cpu-hour "${v}"`, 'write a price per CPU-hour such as 0.05');
  }
  return n;
}

/** "0.0123" with enough digits for cents of a cent. */
function formatCost(c: number): string {
  return c >= 1 ? c.toFixed(2) : c.toPrecision(3);
}
