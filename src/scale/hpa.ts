/**
 * Kubernetes' HorizontalPodAutoscaler, as its controller computes a replica count (autoscaling/v2,
 * pkg/controller/podautoscaler: replica_calculator.go and horizontal.go), for the chart's metrics
 * (deploy/k8s/hpa.yaml): the queue as an External metric with an AverageValue target, and the
 * pods' CPU and memory as Resource metrics with Utilization targets. Each `sync` is one
 * controller pass, normally every 15 s:
 *
 * 1. Each metric's proposal. Queue (GetExternalPerPodMetricReplicas): usage ÷ (target × current);
 *    outside the tolerance (0.1) the proposal is ceil(usage ÷ target), inside it the current
 *    count. CPU and memory (GetResourceReplicas): utilization = used × 100 ÷ (current × the pod's
 *    request), in whole percent; ratio = utilization ÷ target; outside the tolerance
 *    ceil(ratio × current), inside it the current count. The pass takes the largest proposal
 *    (computeReplicasForMetrics); a metric without a value proposes nothing.
 * 2. Stabilization: the result is kept between the lowest proposal of the scale-up window and the
 *    highest of the scale-down window (both windows over the unstabilized proposals of earlier
 *    passes), starting from the current count.
 * 3. Rate: policies limit how far the count may move from where it stood at the start of each
 *    policy's period (scale events inside the period undone); `selectPolicy` Max takes the policy
 *    allowing the most change, Min the least, Disabled none. Then min/max replicas.
 */

export interface HpaPolicy {
  type: 'Percent' | 'Pods';
  value: number;
  periodSeconds: number;
}

export interface HpaRules {
  stabilizationWindowSeconds: number;
  selectPolicy: 'Max' | 'Min' | 'Disabled';
  policies: HpaPolicy[];
}

/** A Resource metric with a Utilization target. */
export interface HpaResourceTarget {
  /** averageUtilization: percent of the pods' request. */
  targetUtilization: number;
  /** What one worker pod requests (deploy/k8s/deployment.yaml): cores for cpu, bytes for memory. */
  request: number;
}

export interface HpaSpec {
  minReplicas: number;
  maxReplicas: number;
  /** The External metric's AverageValue target (jobs waiting per worker). */
  targetAverageValue: number;
  cpu?: HpaResourceTarget;
  memory?: HpaResourceTarget;
  /** kube-controller-manager --horizontal-pod-autoscaler-tolerance. */
  tolerance: number;
  /** kube-controller-manager --horizontal-pod-autoscaler-sync-period. */
  syncPeriodSeconds: number;
  scaleUp: HpaRules;
  scaleDown: HpaRules;
}

/** The chart's HPA (deploy/k8s/hpa.yaml; hpa.test.ts checks they agree) and Kubernetes' defaults. */
export const CHART_HPA: HpaSpec = {
  minReplicas: 1,
  maxReplicas: 50,
  targetAverageValue: 2,
  cpu: { targetUtilization: 70, request: 1 },
  memory: { targetUtilization: 80, request: 2 * 1024 ** 3 },
  tolerance: 0.1,
  syncPeriodSeconds: 15,
  scaleUp: {
    stabilizationWindowSeconds: 60,
    selectPolicy: 'Max',
    policies: [{ type: 'Percent', value: 100, periodSeconds: 60 }],
  },
  scaleDown: {
    stabilizationWindowSeconds: 300,
    selectPolicy: 'Max',
    policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }],
  },
};

/** The metrics' values at one pass: the queue, and what the pods use when it is known. */
export interface HpaUsage {
  /** Jobs waiting (the External metric). */
  queue: number;
  /** Cores in use by all the pods together. */
  cpu?: number;
  /** Bytes in use by all the pods together. */
  memory?: number;
}

/** Which metric proposed the count a pass settled on. */
export type HpaMetricName = 'queue' | 'cpu' | 'memory';

interface Stamped {
  value: number;
  at: number;
}

/** One HPA's controller state: its replica count, past proposals and scale events. */
export class Hpa {
  #replicas: number;
  readonly #recommendations: Stamped[] = [];
  readonly #upEvents: Stamped[] = [];
  readonly #downEvents: Stamped[] = [];

  constructor(
    readonly spec: HpaSpec,
    replicas = spec.minReplicas,
  ) {
    this.#replicas = replicas;
  }

  get replicas(): number {
    return this.#replicas;
  }

  /** The metric whose proposal was the largest at the last pass (the first one on a tie). */
  lastProposedBy: HpaMetricName = 'queue';

  /** One controller pass at `nowMs` with the metrics' current values; returns the new count. */
  sync(nowMs: number, usage: HpaUsage): number {
    const s = this.spec;
    const current = this.#replicas;
    let desired: number;
    if (current > s.maxReplicas) desired = s.maxReplicas;
    else if (current < s.minReplicas) desired = s.minReplicas;
    else desired = this.#normalize(nowMs, current, this.#proposal(current, usage));
    if (desired !== current) {
      const events = desired > current ? this.#upEvents : this.#downEvents;
      const rules = desired > current ? s.scaleUp : s.scaleDown;
      store(events, { value: Math.abs(desired - current), at: nowMs }, longestPeriod(rules) * 1000, nowMs);
      this.#replicas = desired;
    }
    return this.#replicas;
  }

  /** computeReplicasForMetrics: the largest of the metrics' proposals. */
  #proposal(current: number, usage: HpaUsage): number {
    const s = this.spec;
    let best = this.#external(current, usage.queue);
    this.lastProposedBy = 'queue';
    for (const name of ['cpu', 'memory'] as const) {
      const target = s[name];
      const used = usage[name];
      if (!target || used === undefined) continue;
      const p = this.#resource(current, used, target);
      if (p > best) {
        best = p;
        this.lastProposedBy = name;
      }
    }
    return best;
  }

  /** GetExternalPerPodMetricReplicas: the queue's proposal. */
  #external(current: number, queue: number): number {
    const target = this.spec.targetAverageValue;
    const ratio = queue / (target * current);
    return Math.abs(1 - ratio) > this.spec.tolerance ? Math.ceil(queue / target) : current;
  }

  /** GetResourceReplicas: a Utilization target's proposal (every pod counted as ready). */
  #resource(current: number, used: number, target: HpaResourceTarget): number {
    // Kubernetes holds the utilization as a whole percent (int32).
    const utilization = Math.trunc((used * 100) / (current * target.request));
    const ratio = utilization / target.targetUtilization;
    return Math.abs(1 - ratio) > this.spec.tolerance ? Math.ceil(ratio * current) : current;
  }

  /** normalizeDesiredReplicasWithBehaviors: stabilization, then the rate policies and bounds. */
  #normalize(now: number, current: number, proposed: number): number {
    const s = this.spec;
    const upCutoff = now - s.scaleUp.stabilizationWindowSeconds * 1000;
    const downCutoff = now - s.scaleDown.stabilizationWindowSeconds * 1000;
    let up = proposed;
    let down = proposed;
    let old = -1;
    this.#recommendations.forEach((r, i) => {
      if (r.at > upCutoff) up = Math.min(up, r.value);
      if (r.at > downCutoff) down = Math.max(down, r.value);
      if (r.at < upCutoff && r.at < downCutoff) old = i;
    });
    let stabilized = Math.max(current, up);
    stabilized = Math.min(stabilized, down);
    const rec = { value: proposed, at: now };
    if (old >= 0) this.#recommendations[old] = rec;
    else this.#recommendations.push(rec);

    if (stabilized > current) {
      const limit = Math.max(current, this.#limit(now, current, s.scaleUp, +1));
      return Math.min(stabilized, s.maxReplicas, limit);
    }
    if (stabilized < current) {
      const limit = Math.min(current, this.#limit(now, current, s.scaleDown, -1));
      return Math.max(stabilized, s.minReplicas, limit);
    }
    return stabilized;
  }

  /** calculateScale{Up,Down}Limit…: the furthest count the policies allow in `direction`. */
  #limit(now: number, current: number, rules: HpaRules, direction: 1 | -1): number {
    if (rules.selectPolicy === 'Disabled') return current;
    // Max: the policy allowing the most change; Min: the least.
    const most = rules.selectPolicy === 'Max';
    const pick = direction > 0 === most ? Math.max : Math.min;
    let result = direction > 0 === most ? -Infinity : Infinity;
    for (const p of rules.policies) {
      const cutoff = now - p.periodSeconds * 1000;
      const added = changeSince(this.#upEvents, cutoff);
      const deleted = changeSince(this.#downEvents, cutoff);
      const start = current - added + deleted;
      const proposed =
        p.type === 'Pods'
          ? start + direction * p.value
          : direction > 0
            ? Math.ceil(start * (1 + p.value / 100))
            : Math.trunc(start * (1 - p.value / 100));
      result = pick(result, proposed);
    }
    return result;
  }
}

function changeSince(events: readonly Stamped[], cutoff: number): number {
  let n = 0;
  for (const e of events) if (e.at > cutoff) n += e.value;
  return n;
}

function longestPeriod(rules: HpaRules): number {
  return Math.max(0, ...rules.policies.map((p) => p.periodSeconds));
}

/** storeScaleEvent: an event older than the longest policy period is reused, else one is added. */
function store(events: Stamped[], e: Stamped, longestMs: number, now: number): void {
  let old = -1;
  events.forEach((x, i) => {
    if (x.at < now - longestMs) old = i;
  });
  if (old >= 0) events[old] = e;
  else events.push(e);
}
