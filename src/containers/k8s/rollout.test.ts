import { describe, expect, test } from 'vitest';
import { estimateRollout, resolveStrategy, rolloutRounds, settingsForTarget } from './rollout.js';

/**
 * A step-by-step simulation of the Deployment controller's rolling update
 * (pkg/controller/deployment/rolling.go): each sync first scales the new ReplicaSet up to
 * replicas + maxSurge pods in all, then scales old ones down as far as
 * allPods − (replicas − maxUnavailable) − unavailable new pods allows; syncs repeat until nothing
 * changes, then time jumps to the next pod becoming available. Every new pod takes `ready` seconds.
 */
function simulate(replicas: number, surge: number, unavailable: number, ready: number) {
  let old = replicas;
  const pending: number[] = []; // times new pods become available
  let available = 0; // available new pods
  let now = 0;
  let peakPods = replicas;
  let minAvailable = replicas;
  for (let guard = 0; guard < 10_000; guard++) {
    let changed = true;
    while (changed) {
      changed = false;
      const newCount = available + pending.length;
      // NewRSNewReplicas
      const up = Math.max(0, Math.min(replicas + surge - (old + newCount), replicas - newCount));
      for (let i = 0; i < up; i++) pending.push(now + ready);
      if (up > 0) changed = true;
      // The controller creates the new pods before the next sync removes old ones.
      peakPods = Math.max(peakPods, old + available + pending.length);
      // reconcileOldReplicaSets: maxScaledDown = allPods − minAvailable − newRSUnavailable
      const all = old + available + pending.length;
      const down = Math.max(0, Math.min(old, all - (replicas - unavailable) - pending.length));
      old -= down;
      if (down > 0) changed = true;
      peakPods = Math.max(peakPods, old + available + pending.length);
      minAvailable = Math.min(minAvailable, old + available);
    }
    if (old === 0 && available === replicas)
      return { seconds: now, extra: peakPods - replicas, minAvailable };
    pending.sort((a, b) => a - b);
    now = pending[0]!;
    while (pending.length && pending[0] === now) {
      pending.shift();
      available++;
    }
  }
  throw new Error('rollout did not finish');
}

describe('rollout model against the controller simulation', () => {
  const settings: [unknown, unknown][] = [
    [1, 1],
    [1, 0],
    [0, 1],
    ['25%', '25%'],
    ['50%', 0],
    [0, '50%'],
    ['10%', '10%'],
    [2, 1],
    ['100%', 0],
    ['30%', '20%'],
    [0, 0],
  ];
  for (const replicas of [1, 2, 3, 4, 5, 7, 10, 13, 20, 50]) {
    for (const [surge, unavailable] of settings) {
      test(`${replicas} replicas, maxSurge ${surge}, maxUnavailable ${unavailable}`, () => {
        const s = resolveStrategy(replicas, surge, unavailable);
        const sim = simulate(replicas, s.surge, s.unavailable, 12);
        const model = estimateRollout(s, 12);
        expect(model.seconds).toBe(sim.seconds);
        expect(model.extraPods).toBe(sim.extra);
        expect(model.minAvailable).toBe(sim.minAvailable);
      });
    }
  }
});

describe('Kubernetes rounding', () => {
  test('maxSurge rounds up, maxUnavailable rounds down', () => {
    expect(resolveStrategy(10, '25%', '25%')).toEqual({ replicas: 10, surge: 3, unavailable: 2 });
    expect(resolveStrategy(3, '25%', '25%')).toEqual({ replicas: 3, surge: 1, unavailable: 0 });
    expect(resolveStrategy(1, undefined, undefined)).toEqual({ replicas: 1, surge: 1, unavailable: 0 });
  });
  test('both zero: maxUnavailable becomes 1 (fenceposts)', () => {
    expect(resolveStrategy(4, 0, '10%')).toEqual({ replicas: 4, surge: 0, unavailable: 1 });
    expect(rolloutRounds(resolveStrategy(4, 0, 0))).toBe(4);
  });
  test('settings for a target reach it, each within the target and with its capacity cost', () => {
    const opts = settingsForTarget(10, 20, 60);
    expect(opts.length).toBeGreaterThan(0);
    for (const o of opts) {
      expect(o.seconds).toBeLessThanOrEqual(60);
      expect(simulate(10, o.surge, o.unavailable, 20).seconds).toBe(o.seconds);
    }
    expect(opts[0]).toMatchObject({ surge: 4, unavailable: 0, extraPods: 4, minAvailable: 10 });
    expect(settingsForTarget(10, 20, 10)).toEqual([]);
  });
});
