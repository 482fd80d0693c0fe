/**
 * Replays what `--queue` runs recorded through the HPA (hpa.ts): the queue's length (its samples)
 * and the CPU and memory the workers' tasks used (from the runs' task records: each task that ran
 * counts its average cores, cpuSeconds ÷ duration, and its peak RSS while it ran). The pass
 * takes the largest of the three metrics' proposals, as Kubernetes does: how many
 * workers the chart's autoscaler would have run over time, the wait it would have caused (jobs
 * ready or running in the recorded run that would have found no worker: shortfall × time, not a
 * re-simulated schedule) and what the workers would cost per month. Between runs the HPA holds
 * `minReplicas`, which is most of a month's cost.
 *
 * A worker the HPA adds takes work only after it has started (`workerStartSeconds`: the pod
 * scheduled, its container started, the clone fetched): until then it costs money and takes no
 * job. On a scale-down, Kubernetes removes pods that are not ready yet first (a ReplicaSet
 * deletes unready pods before ready ones), so the workers ready at t are the fewest replicas in
 * force over [t - start, t].
 */
import { Hpa, type HpaMetricName, type HpaSpec } from './hpa.js';

export interface QueuePoint {
  at: number;
  waiting: number;
  active: number;
}

/** A task that ran on a worker, as history recorded it. */
export interface TaskLoad {
  startedAt: number;
  endedAt: number;
  /** Average cores over its run (cpuSeconds ÷ duration). */
  cpu: number;
  /** Peak RSS of its process tree, bytes. */
  memory: number;
}

/** A sample stands for at most this long: a coordinator writes one at least every 10 s. */
const SAMPLE_STALE_MS = 30_000;

/** Default price of one worker for one hour (report --cost-per-worker-hour sets another). */
export const DEFAULT_WORKER_HOUR_PRICE = 0.1;

/**
 * Default time from a pod being created to its worker taking jobs (report --worker-start sets
 * another): a node that has the image, a container start, a Node.js start and a fetch of the
 * repository. A scale-up that needs a new node takes minutes.
 */
const DEFAULT_WORKER_START_SECONDS = 30;

const MONTH_HOURS = 730;

export interface AutoscaleReplay {
  hpa: HpaSpec;
  samples: number;
  runs: number;
  /** The span the cost covers: the report's window up to now. */
  window: { from: string; to: string; hours: number };
  /**
   * When the replayed count changed (the first entry is the start), with the queue then and the
   * metric whose proposal was the largest at that pass.
   */
  timeline: { at: string; replicas: number; waiting: number; by: HpaMetricName }[];
  peakReplicas: number;
  peakWaiting: number;
  /** The tasks whose CPU and memory were replayed; 0: the queue alone. */
  tasks: number;
  /** The most cores and bytes the workers' tasks used at once. */
  peakCpu: number;
  peakMemory: number;
  workerHours: number;
  /** Seconds from a worker's pod being created to its taking jobs. */
  workerStartSeconds: number;
  /** Job-seconds of work that was ready or running and would have found no started worker. */
  waitJobSeconds: number;
  /** The most jobs short of a worker at once. */
  peakShortfall: number;
  price: { perWorkerHour: number; from: string };
  costPerMonth: number;
}

/** Replays the samples (oldest first) over [from, to]; undefined without samples. */
export function replayAutoscaler(o: {
  samples: readonly QueuePoint[];
  /** The tasks of the same runs that ran on workers (their CPU and memory metrics); none: queue only. */
  tasks?: readonly TaskLoad[];
  runs: number;
  spec: HpaSpec;
  from: number;
  to: number;
  /** Slots of one worker (the chart's workers run with one). */
  slotsPerWorker?: number;
  price: { perWorkerHour: number; from: string };
  /** Default DEFAULT_WORKER_START_SECONDS. */
  workerStartSeconds?: number;
}): AutoscaleReplay | undefined {
  const samples = o.samples;
  if (!samples.length) return undefined;
  const spec = o.spec;
  const from = Math.min(o.from, samples[0]!.at);
  const to = Math.max(o.to, samples.at(-1)!.at);
  const period = spec.syncPeriodSeconds * 1000;
  // Everything the controller remembers is younger than this: skipping an idle stretch up to
  // this long before the next sample replays exactly what ticking through it would.
  const memory =
    1000 *
    Math.max(
      spec.scaleUp.stabilizationWindowSeconds,
      spec.scaleDown.stabilizationWindowSeconds,
      ...spec.scaleUp.policies.map((p) => p.periodSeconds),
      ...spec.scaleDown.policies.map((p) => p.periodSeconds),
    );
  const hpa = new Hpa(spec);
  const changes: { at: number; replicas: number; by: HpaMetricName }[] = [
    { at: from, replicas: hpa.replicas, by: 'queue' },
  ];
  const valueAt = pointer(samples);
  const tasks = [...(o.tasks ?? [])].sort((a, b) => a.startedAt - b.startedAt);
  const loadAt = loadPointer(tasks);
  let peakCpu = 0;
  let peakMemory = 0;
  let i = 0;
  for (let t = Math.ceil(from / period) * period; t <= to; t += period) {
    const s = valueAt(t);
    const load = loadAt(t);
    peakCpu = Math.max(peakCpu, load.cpu);
    peakMemory = Math.max(peakMemory, load.memory);
    const before = hpa.replicas;
    // Without task records the pods' usage is unknown: no CPU or memory proposal (not a zero one).
    const after = hpa.sync(t, { queue: s?.waiting ?? 0, ...(tasks.length ? load : {}) });
    if (after !== before) {
      if (changes.at(-1)!.at === t) changes.pop();
      changes.push({ at: t, replicas: after, by: hpa.lastProposedBy });
    }
    if (!s && !load.running && after === spec.minReplicas) {
      // Idle at the floor: jump to just before the next sample or task the controller could
      // remember.
      while (i < samples.length && samples[i]!.at <= t) i++;
      const next = Math.min(samples[i]?.at ?? Infinity, load.nextStart);
      if (next === Infinity) break;
      const resume = Math.floor((next - memory) / period) * period;
      if (resume > t) t = resume - period;
    }
  }

  // Worker-hours: the floor for the whole span, plus what each change held above it.
  let workerMs = spec.minReplicas * (to - from);
  changes.forEach((c, k) => {
    const end = changes[k + 1]?.at ?? to;
    workerMs += (c.replicas - spec.minReplicas) * Math.max(0, end - c.at);
  });
  const startSeconds = o.workerStartSeconds ?? DEFAULT_WORKER_START_SECONDS;
  const replicasAt = pointerOf(readyOver(changes, startSeconds * 1000, spec.minReplicas));
  const slots = o.slotsPerWorker ?? 1;
  let waitMs = 0;
  let peakShortfall = 0;
  samples.forEach((s, k) => {
    const end = Math.min(samples[k + 1]?.at ?? s.at + SAMPLE_STALE_MS, s.at + SAMPLE_STALE_MS);
    // The replicas may change inside the sample's interval: integrate piece by piece.
    let t = s.at;
    while (t < end) {
      const { replicas, until } = replicasAt(t);
      const stop = Math.min(end, until);
      const short = Math.max(0, s.waiting + s.active - replicas * slots);
      peakShortfall = Math.max(peakShortfall, short);
      waitMs += short * (stop - t);
      t = stop;
    }
  });
  const hours = (to - from) / 3_600_000;
  const workerHours = workerMs / 3_600_000;
  const waitingAt = pointer(samples);
  return {
    hpa: spec,
    samples: samples.length,
    runs: o.runs,
    window: { from: new Date(from).toISOString(), to: new Date(to).toISOString(), hours },
    timeline: changes.map((c) => ({
      at: new Date(c.at).toISOString(),
      replicas: c.replicas,
      waiting: waitingAt(c.at)?.waiting ?? 0,
      by: c.by,
    })),
    peakReplicas: Math.max(...changes.map((c) => c.replicas)),
    peakWaiting: Math.max(...samples.map((s) => s.waiting)),
    tasks: tasks.length,
    peakCpu,
    peakMemory,
    workerHours,
    workerStartSeconds: startSeconds,
    waitJobSeconds: waitMs / 1000,
    peakShortfall,
    price: o.price,
    costPerMonth: hours > 0 ? (workerHours / hours) * MONTH_HOURS * o.price.perWorkerHour : 0,
  };
}

/** The sample in force at t (the latest at or before it, unless stale); t must not decrease. */
function pointer(samples: readonly QueuePoint[]): (t: number) => QueuePoint | undefined {
  let k = -1;
  return (t) => {
    while (k + 1 < samples.length && samples[k + 1]!.at <= t) k++;
    const s = samples[k];
    return s && t - s.at < SAMPLE_STALE_MS ? s : undefined;
  };
}

/**
 * What the tasks running at t use together, how many run, and when the next one starts (tasks
 * sorted by start; t must not decrease). A task runs over [startedAt, endedAt).
 */
function loadPointer(
  tasks: readonly TaskLoad[],
): (t: number) => { cpu: number; memory: number; running: number; nextStart: number } {
  let k = 0;
  let active: TaskLoad[] = [];
  return (t) => {
    while (k < tasks.length && tasks[k]!.startedAt <= t) active.push(tasks[k++]!);
    active = active.filter((x) => x.endedAt > t);
    let cpu = 0;
    let memory = 0;
    for (const x of active) {
      cpu += x.cpu;
      memory += x.memory;
    }
    return { cpu, memory, running: active.length, nextStart: tasks[k]?.startedAt ?? Infinity };
  };
}

/**
 * The workers ready over time, from the replica counts over time: at t, the fewest replicas in
 * force over [t - start, t] (the pods that have lived through the whole start-up; scale-downs take
 * the unready ones first). The count can change only at a change or a start-up after one.
 */
function readyOver(
  changes: readonly { at: number; replicas: number }[],
  startMs: number,
  /** The workers running before the first change (the HPA's floor, started long ago). */
  initial: number,
): { at: number; replicas: number }[] {
  if (startMs <= 0) return [...changes];
  const times = [...new Set(changes.flatMap((c) => [c.at, c.at + startMs]))].sort((a, b) => a - b);
  const out: { at: number; replicas: number }[] = [];
  // changes[lo] is the change in force at t - start (-1: none yet, `initial` workers).
  let lo = -1;
  for (const t of times) {
    while (lo + 1 < changes.length && changes[lo + 1]!.at <= t - startMs) lo++;
    let fewest = lo < 0 ? initial : changes[lo]!.replicas;
    for (let k = lo + 1; k < changes.length && changes[k]!.at <= t; k++)
      fewest = Math.min(fewest, changes[k]!.replicas);
    if (out.at(-1)?.replicas !== fewest) out.push({ at: t, replicas: fewest });
  }
  return out;
}

/** The replica count in force at t and when it next changes; t must not decrease. */
function pointerOf(
  changes: readonly { at: number; replicas: number }[],
): (t: number) => { replicas: number; until: number } {
  let k = 0;
  return (t) => {
    while (k + 1 < changes.length && changes[k + 1]!.at <= t) k++;
    return { replicas: changes[k]!.replicas, until: changes[k + 1]?.at ?? Number.POSITIVE_INFINITY };
  };
}
