/**
 * Resource right-sizing in the style of the Kubernetes VPA recommender: target = p90 of observed
 * usage × 1.15 safety margin (plan/vpa.ts), with bounds that tighten as samples accumulate (VPA scales its
 * bounds by (1 + 1/confidence) and (1 + 0.001/confidence)^-2, confidence = history in days;
 * here one confidence unit is 10 samples).
 */
import { TARGET_PERCENTILE, vpaTarget } from '../plan/vpa.js';
import { quantile } from '../util/quantile.js';

const SAMPLES_PER_CONFIDENCE_UNIT = 10;

/** One observed execution of a task. */
export interface UsageSample {
  /** Average cores used: CPU seconds / wall seconds. */
  cpu?: number;
  /** Peak resident memory of the process tree, bytes. */
  memory?: number;
}

export interface ResourceEstimate {
  target: number;
  lower: number;
  upper: number;
}

export interface RightSizing {
  taskId: string;
  samples: number;
  /** 0..1, grows with samples: n / (n + 10). */
  confidence: number;
  cpu?: ResourceEstimate;
  memory?: ResourceEstimate;
  /** What the task asks for today (from slipway.yml or the recorded request). */
  request: { cpu?: number; memory?: number };
  flags: RightSizingFlag[];
}

export type RightSizingFlag =
  | { kind: 'cpu-over-requested'; request: number; upper: number; parallelismLost: number }
  | { kind: 'cpu-under-requested'; request: number; observedP90: number }
  | { kind: 'memory-under-requested'; request: number; observedP90: number }
  | { kind: 'memory-over-requested'; request: number; upper: number };

function estimate(values: number[], n: number): ResourceEstimate | undefined {
  const target = vpaTarget(values);
  if (target === undefined) return undefined;
  const c = n / SAMPLES_PER_CONFIDENCE_UNIT;
  return { target, upper: target * (1 + 1 / c), lower: target * (1 + 0.001 / c) ** -2 };
}

/**
 * Recommendation for one task. `poolCpu` is the CPU capacity tasks are packed into, used to tell
 * when an inflated request keeps copies of the task (or its neighbours) from running side by side.
 */
export function rightSize(opts: {
  taskId: string;
  samples: readonly UsageSample[];
  request: { cpu?: number; memory?: number };
  poolCpu: number;
}): RightSizing {
  const { samples, request, poolCpu } = opts;
  const n = samples.length;
  const cpus = samples.map((s) => s.cpu).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const mems = samples
    .map((s) => s.memory)
    .filter((v): v is number => v !== undefined && Number.isFinite(v) && v > 0);
  const cpu = estimate(cpus, cpus.length);
  const memory = estimate(mems, mems.length);
  const flags: RightSizingFlag[] = [];
  const effectiveCpu = request.cpu ?? 1;
  if (cpu && effectiveCpu > cpu.upper) {
    // Parallelism lost: how many fewer copies of this request fit the pool than of the target.
    const fitsNow = Math.floor(poolCpu / effectiveCpu);
    const fitsTarget = Math.floor(poolCpu / Math.max(cpu.target, 0.1));
    flags.push({
      kind: 'cpu-over-requested',
      request: effectiveCpu,
      upper: cpu.upper,
      parallelismLost: fitsTarget - fitsNow,
    });
  } else if (cpu && request.cpu !== undefined && quantile(cpus, TARGET_PERCENTILE) > request.cpu) {
    // Using more than reserved oversubscribes the pool: neighbours slow down.
    flags.push({
      kind: 'cpu-under-requested',
      request: request.cpu,
      observedP90: quantile(cpus, TARGET_PERCENTILE),
    });
  }
  if (memory && request.memory !== undefined) {
    const p90 = quantile(mems, TARGET_PERCENTILE);
    if (request.memory < p90)
      flags.push({ kind: 'memory-under-requested', request: request.memory, observedP90: p90 });
    else if (request.memory > memory.upper)
      flags.push({ kind: 'memory-over-requested', request: request.memory, upper: memory.upper });
  }
  return {
    taskId: opts.taskId,
    samples: n,
    confidence: n / (n + SAMPLES_PER_CONFIDENCE_UNIT),
    cpu,
    memory,
    request,
    flags,
  };
}
