/** Recommendations: each a change with the seconds it saves per run, estimated by the simulator. */

import type { Capacity } from '../../config/capacity.js';
import type { Pipeline } from '../../config/types.js';
import type { TaskGraph } from '../../graph/graph.js';
import type { Prediction } from '../../plan/predict.js';
import type { RunRecord } from '../history.js';

export type RecommendationKind =
  | 'enable-cache'
  | 'fix-volatile-input'
  | 'concurrency'
  | 'split-task'
  | 'drop-dependency'
  | 'right-size'
  /** A Dockerfile or Kubernetes finding with a time saving (src/containers). */
  | 'container';

export interface Recommendation {
  kind: RecommendationKind;
  /** Task id, `a -> b` for an edge, or `concurrency`. */
  target: string;
  title: string;
  /** Expected wall time saved per run (ms), from re-simulating the schedule with the change. */
  savedMsPerRun: number;
  /** Simulated makespan before and after the change (a run where every task executes). */
  baselineMs: number;
  predictedMs: number;
  /** The facts from history and configuration the recommendation rests on. */
  evidence: string[];
  risk: string;
  /** What to edit in slipway.yml (or run). */
  change: string;
}

/** Everything a recommender looks at. */
export interface RecommendContext {
  pipeline: Pipeline;
  graph: TaskGraph;
  predictions: ReadonlyMap<string, Prediction>;
  capacity: Capacity;
  /** Oldest first. */
  runs: readonly RunRecord[];
  /** CPU cores of this machine. */
  cores: number;
}
