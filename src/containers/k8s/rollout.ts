/**
 * The rolling-update time model. The Deployment controller keeps at most replicas + maxSurge pods
 * and at least replicas − maxUnavailable available; with pods that take the same time to become
 * available, each round replaces maxSurge + maxUnavailable pods, so a rollout takes
 * ⌈replicas / (maxSurge + maxUnavailable)⌉ rounds of (pod ready time + minReadySeconds).
 * test/containers/rollout-sim.test.ts checks this against a step-by-step controller simulation.
 */
import { scaled } from './quantity.js';

export interface Strategy {
  replicas: number;
  surge: number;
  unavailable: number;
}

/** maxSurge/maxUnavailable as the controller resolves them (defaults 25%, fenceposts). */
export function resolveStrategy(replicas: number, maxSurge: unknown, maxUnavailable: unknown): Strategy {
  const surge = scaled(maxSurge, replicas, true, '25%');
  let unavailable = scaled(maxUnavailable, replicas, false, '25%');
  // deployment/util ResolveFenceposts: both zero would never progress.
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { replicas, surge, unavailable };
}

/** Rounds of pod start-ups a rollout needs. */
export function rolloutRounds(s: Strategy): number {
  if (s.replicas <= 0) return 0;
  return Math.ceil(s.replicas / (s.surge + s.unavailable));
}

export interface RolloutEstimate extends Strategy {
  rounds: number;
  /** Seconds from a pod's creation to available (ready + minReadySeconds). */
  roundSeconds: number;
  seconds: number;
  /** Pods above `replicas` at the peak of the rollout (capacity paid for). */
  extraPods: number;
  /** Fewest available pods during the rollout. */
  minAvailable: number;
}

export function estimateRollout(s: Strategy, roundSeconds: number): RolloutEstimate {
  const rounds = rolloutRounds(s);
  return {
    ...s,
    rounds,
    roundSeconds,
    seconds: rounds * roundSeconds,
    extraPods: Math.min(s.surge, s.replicas),
    minAvailable: Math.max(0, s.replicas - s.unavailable),
  };
}

/**
 * Settings that finish within `targetSeconds`: the surge-only one (full availability, extra pods)
 * and the unavailable-only one (no extra pods, less capacity), plus a balanced split.
 */
export function settingsForTarget(
  replicas: number,
  roundSeconds: number,
  targetSeconds: number,
): RolloutEstimate[] {
  if (replicas <= 0 || roundSeconds <= 0) return [];
  const rounds = Math.floor(targetSeconds / roundSeconds);
  if (rounds < 1) return [];
  const step = Math.min(replicas, Math.ceil(replicas / rounds));
  const half = Math.ceil(step / 2);
  const options: Strategy[] = [
    { replicas, surge: step, unavailable: 0 },
    { replicas, surge: half, unavailable: step - half },
    { replicas, surge: 0, unavailable: step },
  ];
  const seen = new Set<string>();
  return (
    options
      // Taking every pod down at once is an outage, not a rollout setting.
      .filter(
        (o) =>
          o.unavailable < replicas &&
          o.surge + o.unavailable > 0 &&
          !seen.has(`${o.surge}/${o.unavailable}`) &&
          seen.add(`${o.surge}/${o.unavailable}`),
      )
      .map((o) => estimateRollout(o, roundSeconds))
  );
}
