import type { Command } from 'commander';
import { capacityCurve } from '../analyze/capacity-curve.js';
import { createTaskCache } from '../cache/index.js';
import { type Capacity, capacityFor } from '../config/capacity.js';
import type { Pipeline } from '../config/types.js';
import { EventStream, type RunEvent } from '../events.js';
import { cacheMarks, type MarkedTask } from '../exec/settle.js';
import type { TaskGraph } from '../graph/graph.js';
import { targetGraph } from '../graph/targets.js';
import { predict, simTasks } from '../plan/predict.js';
import { simulate } from '../plan/simulate.js';
import { DISPATCH_MS, simulateWorkers } from '../plan/simulate-workers.js';
import type { Checkout } from '../state/checkout.js';
import { type Store, withStore } from '../store/store.js';
import { formatMs } from '../util/units.js';
import { action, type CliContext, checkoutOf, globals, pipelineFrom, UsageError } from './context.js';
import { positiveInt } from './options.js';
import { affectedOption, filterOption, printNotes, type TargetFlags, targetsFrom } from './targets.js';

interface PlanOptions extends TargetFlags {
  concurrency?: number;
  cache: boolean;
  json?: boolean;
  whatIf?: WhatIf;
  costPerCpuHour?: number;
}

/** --what-if: local capacities (cpus=…) or scale-out workers of one slot each (workers=…). */
interface WhatIf {
  unit: 'cpus' | 'workers';
  list: number[];
}

/** Parses "cpus=1,2,4,8" or "workers=1,2,4,8". */
function parseWhatIf(v: string): WhatIf {
  const m = /^(cpus|workers)=([\d,\s]+)$/.exec(v.trim());
  const list = m?.[2]?.split(',').map((s) => Number(s.trim()));
  if (!m || !list?.length || list.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new UsageError(
      `bad --what-if "${v}"`,
      'write a list of capacities such as --what-if cpus=1,2,4,8 or --what-if workers=1,2,4,8',
    );
  }
  return { unit: m[1] as WhatIf['unit'], list: [...new Set(list)].sort((a, b) => a - b) };
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('plan')
    .description(
      'show what `run` would do: each task a cache hit, a miss or uncached, and the predicted schedule of what runs (order, start and end, critical path, makespan); runs and writes nothing',
    )
    .argument('[tasks...]', 'tasks to plan, with their dependencies (default: all)')
    .option('-c, --concurrency <n>', 'tasks running at once', positiveInt('--concurrency'))
    .option(...filterOption)
    .option(...affectedOption)
    .option('--no-cache', 'plan as `run --no-cache` would run: every task runs')
    .option('--json', 'machine-readable output')
    .option(
      '--what-if <spec>',
      'simulate other capacities, e.g. cpus=1,2,4,8, or scale-out workers: workers=1,2,4,8',
      parseWhatIf,
    )
    .option(
      '--cost-per-cpu-hour <price>',
      'with --what-if: cost per run at this price per CPU-hour',
      parsePrice,
    )
    .action(
      action(ctx, async (tasks: string[], opts: PlanOptions, cmd: Command) => {
        // Git and the output stats are read in their own processes while the pipeline loads.
        const checkout = checkoutOf(ctx, cmd);
        if (opts.cache) checkout.probe();
        const pipeline = await pipelineFrom(cmd, { snapshot: checkout.ledger });
        const { graph, notes } = targetGraph(pipeline, tasks, targetsFrom(ctx, opts));
        printNotes(ctx, notes);
        if (!graph.size && !opts.json) {
          ctx.stdout.write('nothing to plan: no task is selected\n');
          return 0;
        }
        const marks = await markTasks(ctx, pipeline, graph, opts.cache ? checkout : undefined);
        const where = { url: globals(cmd).store, root: pipeline.root, create: false };
        return withStore({ ...where, warm: ctx.prefetch?.warmStore }, (store) =>
          plan(ctx, { pipeline, graph, marks, store }, opts),
        );
      }),
    );
}

/**
 * Settles the cache as `run` would, through a read-only cache (nothing restored, recorded or
 * stored; no remote asked); its warnings go to stderr. No checkout: `--no-cache`.
 */
async function markTasks(
  ctx: CliContext,
  pipeline: Pipeline,
  graph: TaskGraph,
  checkout: Checkout | undefined,
): Promise<Map<string, MarkedTask>> {
  if (!checkout) return cacheMarks(undefined, pipeline, graph);
  const events = new EventStream<RunEvent>();
  const off = events.subscribe((e) => {
    if (e.type === 'warning') ctx.stderr.write(`warning: ${e.taskId ? `${e.taskId}: ` : ''}${e.message}\n`);
  });
  try {
    const cache = await createTaskCache({
      pipeline,
      events,
      env: ctx.env,
      checkout,
      readOnly: true,
    });
    return await cacheMarks(cache, pipeline, graph);
  } finally {
    off();
  }
}

interface PlanInput {
  pipeline: Pipeline;
  graph: TaskGraph;
  marks: ReadonlyMap<string, MarkedTask>;
  store: Store;
}

async function plan(ctx: CliContext, input: PlanInput, opts: PlanOptions): Promise<number> {
  const { pipeline, graph, marks, store } = input;
  // Hits take no time: predictions and the schedule cover only the tasks that will run.
  const hits = new Set([...marks].filter(([, m]) => m.mark === 'hit').map(([id]) => id));
  const predictions = await predict(store, pipeline, graph, hits);
  const capacity = capacityFor(pipeline, opts.concurrency);
  const toRun = (cap: Capacity) => simTasks(graph, predictions, cap).filter((t) => !hits.has(t.id));
  const sim = simulate(toRun(capacity), capacity);
  const workers = opts.whatIf?.unit === 'workers';
  const whatIf = (opts.whatIf?.list ?? []).map((n) => {
    const cap: Capacity = { slots: n, cpu: n, memory: capacity.memory };
    // A worker has one slot and one cpu (cost counts one cpu per worker).
    const r = workers ? simulateWorkers(toRun(cap), n, capacity.memory * n) : simulate(toRun(cap), cap);
    return {
      cpus: n,
      ...(workers ? { workers: n } : {}),
      makespanMs: r.makespanMs,
      lowerBoundMs: r.lowerBoundMs,
    };
  });
  // Cost per run and the knee of the curve (src/analyze/capacity-curve.ts).
  const curve = capacityCurve(whatIf, opts.costPerCpuHour);
  const costed = whatIf.map((w) => {
    const c = curve.find((x) => x.cpus === w.cpus)!;
    return { ...w, ...(c.costPerRun !== undefined ? { costPerRun: c.costPerRun } : {}), knee: c.knee };
  });
  const onPath = new Set(sim.criticalPath);
  // Hits first, in dependency order (a run reports them first), then the schedule of the rest.
  const slots = [
    ...graph
      .topo()
      .filter((id) => hits.has(id))
      .map((id) => ({ id, startMs: 0, endMs: 0 })),
    ...sim.schedule,
  ];
  const rows = slots.map((s, i) => {
    const p = predictions.get(s.id)!;
    const m = marks.get(s.id)!;
    return {
      order: i + 1,
      id: s.id,
      cache: m.mark,
      ...(m.via ? { cacheSource: m.via } : {}),
      ...(m.savedMs !== undefined ? { savedMs: m.savedMs } : {}),
      startMs: s.startMs,
      endMs: s.endMs,
      durationMs: p.durationMs,
      cpu: Math.min(p.cpu, capacity.cpu),
      memory: Math.min(p.memory, capacity.memory),
      samples: p.samples,
      critical: onPath.has(s.id),
    };
  });
  const count = (mark: string) => rows.filter((r) => r.cache === mark).length;
  const cache = { hit: count('hit'), miss: count('miss'), run: count('run') };
  if (opts.json) {
    ctx.stdout.write(
      `${JSON.stringify(
        {
          pipeline: pipeline.name,
          capacity,
          cache,
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
  const running = rows.filter((r) => r.cache !== 'hit');
  const known = running.filter((r) => r.samples > 0).length;
  const w = Math.max(4, ...rows.map((r) => r.id.length));
  const n = Math.max(2, String(rows.length).length);
  const line = (r: (typeof rows)[number]): string => {
    const head = `  ${r.critical ? '*' : ' '}${String(r.order).padStart(n)}  ${r.id.padEnd(w)}  ${r.cache.padEnd(5)}`;
    if (r.cache === 'hit') {
      const saved = r.savedMs ? `  (cached: saves ${formatMs(r.savedMs)})` : '  (cached)';
      return `${head}  ${'-'.padStart(8)}  ${'-'.padStart(8)}  ${'-'.padStart(8)}  -${saved}`;
    }
    return `${head}  ${formatMs(r.startMs).padStart(8)}  ${formatMs(r.endMs).padStart(8)}  ${formatMs(r.durationMs).padStart(8)}  ${r.cpu}${r.samples ? '' : '  (no history: prior)'}`;
  };
  const parts = [`${cache.hit} cached`, `${cache.miss + cache.run} to run`];
  if (cache.run) parts.push(`${cache.run} uncached`);
  const out = [
    `Plan for ${pipeline.name}: ${rows.length} tasks (${parts.join(', ')}), concurrency ${capacity.slots}, cpu ${capacity.cpu} (history for ${known} of ${running.length} tasks to run)`,
    '',
    `  ${' '.repeat(n)}#  ${'task'.padEnd(w)}  cache  ${'start'.padStart(8)}  ${'end'.padStart(8)}  ${'dur'.padStart(8)}  cpu`,
    ...rows.map(line),
    '',
    running.length
      ? `Predicted makespan ${formatMs(sim.makespanMs)}; lower bound ${formatMs(sim.lowerBoundMs)}`
      : `Predicted makespan ${formatMs(0)}: every task is a cache hit`,
    `Critical path (*): ${sim.criticalPath.join(' → ') || '-'}`,
  ];
  if (whatIf.length) {
    const priced = opts.costPerCpuHour !== undefined;
    out.push(
      '',
      workers
        ? `What if (scale-out workers of one slot each, ${DISPATCH_MS} ms dispatch per task):`
        : 'What if (cpus = concurrency):',
      `${workers ? '  workers' : '   cpus'}  makespan  lower bound  speedup${priced ? '  cost/run' : ''}`,
    );
    const base = whatIf[0]!.makespanMs;
    for (const r of costed) {
      out.push(
        `  ${String(r.cpus).padStart(workers ? 7 : 5)}  ${formatMs(r.makespanMs).padStart(8)}  ${formatMs(r.lowerBoundMs).padStart(11)}  ${`${(base / Math.max(1, r.makespanMs)).toFixed(2)}×`.padStart(7)}${priced ? `  ${formatCost(r.costPerRun ?? 0).padStart(8)}` : ''}${r.knee ? '  ← knee' : ''}`,
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
