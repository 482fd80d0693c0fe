/**
 * The seam a run hands its tasks through when they run elsewhere: scale-out's coordinator
 * (scale/coordinator.ts) implements it, so the run (run-pipeline.ts) needs nothing of BullMQ or
 * Redis, and `scale/` depends on `exec/`, never the other way round.
 */
import type { Capacity } from '../config/capacity.js';
import type { EventStream, RunEvent } from '../events.js';
import type { TaskGraph } from '../graph/graph.js';
import type { Prediction } from '../plan/predict.js';
import type { QueueSample } from '../store/queue-samples.js';
import type { TaskRunner } from './task-runner.js';

/** A runner for one run's tasks on other machines, closed when the run ends. */
export interface RemoteRunner extends TaskRunner {
  /** The queue's length while the run lasted, recorded in history (complete once closed). */
  readonly queueSamples: readonly QueueSample[];
  close(): Promise<void>;
}

export interface RemoteRunners {
  /** The pool the run plans for: every worker's slots, cpu and memory. */
  readonly capacity: Capacity;
  /** Opens the run's runner; a rejection means the run goes on with the local runner. */
  open(run: {
    runId: string;
    graph: TaskGraph;
    predictions: ReadonlyMap<string, Prediction>;
    events: EventStream<RunEvent>;
  }): Promise<RemoteRunner>;
}
