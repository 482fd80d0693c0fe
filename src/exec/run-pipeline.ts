/**
 * One pipeline run end to end: select, predict, plan, execute, record. The CLI's `run` is a thin
 * shell around this; benchmarks and tests call it too.
 */
import type { TaskCache } from '../cache/types.js';
import type { Pipeline } from '../config/types.js';
import { EventStream, type RunEvent } from '../events.js';
import { criticalPath } from '../graph/critical-path.js';
import type { TaskGraph } from '../graph/graph.js';
import { type Capacity, capacityFor } from '../plan/capacity.js';
import { predict, simTasks } from '../plan/predict.js';
import { lowerBound, simulate } from '../plan/simulate.js';
import { type RunSummary, SummaryCollector } from '../report/summary.js';
import { processRecordDir, runLogDir } from '../state/paths.js';
import type { Store } from '../store/store.js';
import { attachStoreWriter } from '../store/writer.js';
import { type GitFacts, gitHead } from '../util/git-facts.js';
import { newId } from '../util/id.js';
import { trace } from '../util/trace.js';
import { runGraph } from './executor.js';
import { GroupGuard } from './process-guard.js';
import { LocalRunner } from './runner.js';
import { settleInPlace } from './settle.js';

export interface RunPipelineOptions {
  pipeline: Pipeline;
  graph: TaskGraph;
  store?: Store;
  concurrency?: number;
  cache?: TaskCache;
  force?: boolean;
  continueOnFailure?: boolean;
  signal?: AbortSignal;
  argv?: string[];
  /** Subscribe reporters before the run starts. */
  events?: EventStream<RunEvent>;
  env?: NodeJS.ProcessEnv;
  /** A git read already started for the pipeline root; HEAD is taken from it. */
  git?: Promise<GitFacts>;
}

/** Runs the graph and returns its summary (DESIGN §11). */
export async function runPipeline(o: RunPipelineOptions): Promise<RunSummary> {
  const { pipeline, graph } = o;
  const events = o.events ?? new EventStream<RunEvent>();
  const capacity: Capacity = capacityFor(pipeline, o.concurrency);
  const settled = o.cache && !o.force ? await settleInPlace(o.cache, pipeline, graph) : new Map();
  trace('settled in-place hits');
  const predictions = await predict(o.store, pipeline, graph, new Set(settled.keys()));
  trace('predicted');
  // Settled tasks are done before anything starts: the plan covers only the rest.
  const plan = simulate(
    simTasks(graph, predictions, capacity).filter((t) => !settled.has(t.id)),
    capacity,
  );
  trace('simulated');
  const collector = new SummaryCollector(events);
  const writer = o.store ? attachStoreWriter(o.store, events, pipeline) : undefined;
  const runId = newId('r');
  const git = o.git ? (await o.git).head : gitHead(pipeline.root);
  const startedAt = Date.now();
  const starts = new Map(plan.schedule.map((s) => [s.id, s.startMs]));

  events.emit({
    type: 'run-started',
    runId,
    pipeline: pipeline.name,
    at: startedAt,
    tasks: graph.topo().map((id) => {
      const p = predictions.get(id)!;
      return {
        id,
        predictedMs: p.durationMs,
        predictedStartMs: starts.get(id) ?? 0,
        cpu: Math.min(p.cpu, capacity.cpu),
        memory: Math.min(p.memory, capacity.memory),
      };
    }),
    concurrency: capacity.slots,
    capacity,
    predictedMakespanMs: plan.makespanMs,
    lowerBoundMs: plan.lowerBoundMs,
    criticalPath: plan.criticalPath,
    ...(git ? { gitSha: git.sha, gitCommitAt: git.commitAt } : {}),
    argv: o.argv ?? [],
  });

  const actual = new Map<string, number>();
  const off = events.subscribe((e) => {
    // A cache hit is not work a schedule could arrange better: the measured lower bound counts
    // executed work only (a fully cached run has none, and no ratio).
    if (e.type === 'task-finished')
      actual.set(e.taskId, e.cache === 'hit-local' || e.cache === 'hit-remote' ? 0 : e.durationMs);
  });
  const guard = new GroupGuard(processRecordDir(pipeline.root));
  const result = await runGraph({
    runId,
    pipeline,
    graph,
    capacity,
    predictions,
    events,
    // Every task process group is told to the guard: none outlives slipway.
    runner: new LocalRunner({ guard }),
    cache: o.cache,
    force: o.force,
    settled,
    continueOnFailure: o.continueOnFailure,
    signal: o.signal,
    env: o.env,
    logDir: runLogDir(pipeline.root, runId),
    // One history write before any task process exists: from then on a crash leaves the run
    // recorded (and later marked interrupted), never missing.
    beforeFirstProcess: async () => writer?.flush(),
  }).finally(() => guard.close());
  off();
  trace('executed');

  // The measured lower bound uses what the executed tasks really took in this run.
  const measured = simTasks(graph, predictions, capacity).map((t) => ({
    ...t,
    durationMs: actual.get(t.id) ?? 0,
  }));
  const cp = criticalPath(graph, (id) => actual.get(id) ?? 0);
  const endedAt = Date.now();
  events.emit({
    type: 'run-finished',
    runId,
    at: endedAt,
    status: result.status,
    durationMs: endedAt - startedAt,
    lowerBoundMs: lowerBound(measured, capacity, cp.lengthMs),
  });
  await writer?.flush();
  trace('history written');
  writer?.unsubscribe();
  return collector.summary();
}
