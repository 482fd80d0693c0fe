/**
 * One pipeline run end to end: select, predict, plan, execute, record. The CLI's `run` is a thin
 * shell around this; benchmarks and tests call it too.
 */
import type { TaskCache } from '../cache/types.js';
import { type Capacity, capacityFor } from '../config/capacity.js';
import type { Pipeline } from '../config/types.js';
import { criticalPath } from '../graph/critical-path.js';
import type { TaskGraph } from '../graph/graph.js';
import { predict, simTasks } from '../plan/predict.js';
import { lowerBound, simulate } from '../plan/simulate.js';
import type { RunSummary } from '../report/summary.js';
import { processRecordDir, runLogDir } from '../state/paths.js';
import type { Store } from '../store/store.js';
import { type GitFacts, gitHead } from '../util/git-facts.js';
import { newId } from '../util/id.js';
import { trace } from '../util/trace.js';
import { runGraph } from './executor.js';
import { GroupGuard } from './process-guard.js';
import type { RemoteRunners } from './remote-runners.js';
import { attachRunSubscribers, type RunSubscribers } from './run-subscribers.js';
import { LocalRunner } from './runner.js';

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
  /**
   * The run's subscribers (attachRunSubscribers), made by the caller when the cache must warn on
   * the same stream; by default the summary and, with a store, the history writer.
   */
  subscribers?: RunSubscribers;
  env?: NodeJS.ProcessEnv;
  /** A git read already started for the pipeline root; HEAD is taken from it. */
  git?: Promise<GitFacts>;
  /** Scale-out (README: Scaling out): attempts become jobs on this queue instead of local processes. */
  scaleOut?: RemoteRunners;
}

/** Runs the graph and returns its summary (DESIGN §11). */
export async function runPipeline(o: RunPipelineOptions): Promise<RunSummary> {
  const { pipeline, graph } = o;
  const subscribers = o.subscribers ?? attachRunSubscribers({ pipeline, store: o.store });
  const { events } = subscribers;
  const capacity: Capacity = o.scaleOut?.capacity ?? capacityFor(pipeline, o.concurrency);
  // Tasks already done (outputs in place) take no time: predictions and the plan cover the rest.
  const settled = o.cache && !o.force ? await o.cache.settle(graph) : new Map();
  trace('settled in-place hits');
  const predictions = await predict(o.store, pipeline, graph, new Set(settled.keys()));
  trace('predicted');
  // Settled tasks are done before anything starts: the plan covers only the rest.
  const plan = simulate(
    simTasks(graph, predictions, capacity).filter((t) => !settled.has(t.id)),
    capacity,
  );
  trace('simulated');
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

  const guard = new GroupGuard(processRecordDir(pipeline.root));
  // Scale-out: the run is recorded while the queue opens, so the first wave of jobs does not wait
  // for the history write (a --queue run always has work to hand out; its round trips dwarf it).
  // The queue's first round trip (the run's heartbeat) is started first: the write blocks this
  // thread (SQLite), and Redis answers meanwhile.
  const opening = o.scaleOut?.open({ runId, graph, predictions, events });
  const recorded = o.scaleOut ? subscribers.flush() : undefined;
  const queue = opening
    ? await opening.catch((e: unknown) => {
        events.emit({
          type: 'warning',
          runId,
          message: `scale-out queue: ${String(e)}; running every task here`,
        });
        return undefined;
      })
    : undefined;
  const result = await runGraph({
    runId,
    pipeline,
    graph,
    capacity,
    predictions,
    events,
    // Every task process group is told to the guard: none outlives slipway.
    runner: queue ?? new LocalRunner({ guard }),
    cache: o.cache,
    force: o.force,
    settled,
    continueOnFailure: o.continueOnFailure,
    signal: o.signal,
    env: o.env,
    logDir: runLogDir(pipeline.root, runId),
    // One history write before any task process exists: from then on a crash leaves the run
    // recorded (and later marked interrupted), never missing.
    beforeFirstProcess: () => recorded ?? subscribers.flush(),
  }).finally(async () => {
    guard.close();
    await queue?.close();
  });
  const actual = result.durationsMs;
  trace('executed');
  if (queue?.queueSamples.length && o.store)
    await o.store.queueSamples
      .insert(runId, queue.queueSamples)
      .catch((e: unknown) =>
        events.emit({ type: 'warning', runId, message: `cannot record the queue's length: ${String(e)}` }),
      );

  // The measured lower bound uses what the executed tasks really took in this run. A cache hit is
  // not work a schedule could arrange better: it counts 0 (a fully cached run has no ratio).
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
  await subscribers.flush();
  trace('history written');
  // Subscribers the caller attached are the caller's to detach.
  if (!o.subscribers) subscribers.detach();
  return subscribers.summary();
}
