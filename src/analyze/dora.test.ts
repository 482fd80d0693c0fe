import { describe, expect, it } from 'vitest';
import type { Deployment } from './deployments.js';
import {
  doraMetrics,
  failRateTier,
  frequencyTier,
  leadTimeTier,
  recoveryTier,
  recoveryTimes,
} from './dora.js';

const H = 3_600_000;
const D = 24 * H;

function dep(
  id: string,
  at: number,
  status: Deployment['status'],
  extra: Partial<Deployment> = {},
): Deployment {
  return {
    id,
    environment: 'production',
    status,
    startedAt: at,
    endedAt: at + 10 * 60_000,
    source: 'deployments',
    ...extra,
  };
}

describe('DORA', () => {
  it('tiers follow the 2023 report clusters', () => {
    expect(frequencyTier(3)).toBe('elite');
    expect(frequencyTier(1 / 3)).toBe('high');
    expect(frequencyTier(1 / 14)).toBe('medium');
    expect(frequencyTier(1 / 60)).toBe('low');
    expect(leadTimeTier(2 * H)).toBe('elite');
    expect(leadTimeTier(2 * D)).toBe('high');
    expect(leadTimeTier(10 * D)).toBe('medium');
    expect(leadTimeTier(40 * D)).toBe('low');
    expect(failRateTier(0.05)).toBe('elite');
    expect(failRateTier(0.08)).toBe('high');
    expect(failRateTier(0.15)).toBe('medium');
    expect(failRateTier(0.3)).toBe('low');
    expect(recoveryTier(30 * 60_000)).toBe('elite');
    expect(recoveryTier(5 * H)).toBe('high');
    expect(recoveryTier(3 * D)).toBe('medium');
    expect(recoveryTier(9 * D)).toBe('low');
  });

  it('computes the four keys on a known history', () => {
    // Ten days, 10 deployments: 8 succeed, 2 fail; each failure is fixed 2 h later.
    const deps: Deployment[] = [];
    for (let day = 0; day < 8; day++)
      deps.push(dep(`s${day}`, day * D, 'success', { gitCommitAt: day * D - 3 * H }));
    deps.push(dep('f1', 2 * D + 4 * H, 'failed'));
    deps.push(dep('r1', 2 * D + 6 * H, 'rolled-back', { environment: 'staging' }));
    // Recovery of f1: the next production success is s3 at 3 D (ends 10 min later).
    const m = doraMetrics(deps, 0, 10 * D);
    expect(m.deploymentFrequency.value).toBeCloseTo(0.8, 9);
    expect(m.deploymentFrequency.tier).toBe('high');
    // Lead time: deploy end (start + 10 min) minus commit (3 h before start).
    expect(m.changeLeadTime.value).toBe(3 * H + 10 * 60_000);
    expect(m.changeLeadTime.tier).toBe('elite');
    expect(m.changeFailRate.value).toBeCloseTo(0.2, 9);
    expect(m.changeFailRate.tier).toBe('low');
    // Staging's rollback is never followed by a staging success: not recovered, not counted.
    expect(m.failedDeploymentRecoveryTime.samples).toBe(1);
    expect(m.failedDeploymentRecoveryTime.value).toBe(3 * D - (2 * D + 4 * H));
    expect(m.failedDeploymentRecoveryTime.tier).toBe('high');
  });

  it('a rollback recovers but is not a deployment of a change', () => {
    const deps = [
      dep('a', 0, 'success'),
      dep('b', H, 'failed'),
      dep('rb', 2 * H, 'success', { kind: 'rollback' }),
    ];
    const m = doraMetrics(deps, 0, D);
    expect(m.changeFailRate.value).toBeCloseTo(0.5, 12);
    expect(m.deploymentFrequency.samples).toBe(1);
    expect(m.failedDeploymentRecoveryTime.value).toBe(H);
  });

  it('a streak of failures is one outage', () => {
    const deps = [dep('a', 0, 'failed'), dep('b', H, 'failed'), dep('c', 2 * H, 'success')];
    expect(recoveryTimes(deps)).toEqual([2 * H]);
  });

  it('empty history gives nulls, not zeros', () => {
    const m = doraMetrics([], 0, D);
    expect(m.deploymentFrequency.value).toBeNull();
    expect(m.changeFailRate.tier).toBeNull();
  });
});
