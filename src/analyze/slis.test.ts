import { describe, expect, it } from 'vitest';
import { pipelineSchema } from '../config/schema.js';
import type { Deployment } from './deployments.js';
import { DEFAULT_SLI_TARGETS, evaluateSlis, type SliRun, sliTargets } from './slis.js';

const MIN = 60_000;
const now = 100 * 24 * 60 * MIN;

function byName(results: ReturnType<typeof evaluateSlis>, name: string) {
  const r = results.find((x) => x.name === name);
  if (!r) throw new Error(name);
  return r;
}

describe('SLIs', () => {
  it('reads targets from slis: as percentages and durations', () => {
    const raw = pipelineSchema.parse({
      slis: { availability: 99.5, resourceEfficiency: '70%', deploymentFailureRate: 1, recoveryTime: '10m' },
    }).slis;
    const t = sliTargets(raw);
    expect(t.availability).toBeCloseTo(0.995, 12);
    expect(t.resourceEfficiency).toBeCloseTo(0.7, 12);
    expect(t.deploymentFailureRate).toBeCloseTo(0.01, 12);
    expect(t.recoveryTimeMs).toBe(10 * MIN);
    expect(t.deploymentDurationP95Ms).toBe(15 * MIN);
    expect(sliTargets(undefined)).toEqual(DEFAULT_SLI_TARGETS);
    expect(pipelineSchema.safeParse({ slis: { availability: 120 } }).success).toBe(false);
  });

  it('computes the five SLIs and the error budget on a known history', () => {
    // 1000 runs in the last 10 days, 2 failed: availability 99.8% against 99.9% -> budget -100%.
    const runs: SliRun[] = Array.from({ length: 1000 }, (_, i) => ({
      status: i < 2 ? 'failed' : 'success',
      startedAt: now - 10 * 24 * 60 * MIN + i * 14 * MIN,
      endedAt: now - 10 * 24 * 60 * MIN + i * 14 * MIN + MIN,
      utilization: i % 2 ? 0.9 : 0.6,
    }));
    // 20 deployments 10, 11, …, 29 minutes long; one failed and was fixed by the next one 30 min later.
    const deployments: Deployment[] = Array.from({ length: 20 }, (_, i) => ({
      id: `d${i}`,
      environment: 'production',
      status: i === 5 ? 'failed' : 'success',
      startedAt: now - 5 * 24 * 60 * MIN + i * 60 * MIN,
      endedAt: now - 5 * 24 * 60 * MIN + i * 60 * MIN + (10 + i) * MIN,
      durationMs: (10 + i) * MIN,
      source: 'deployments',
    }));
    const r = evaluateSlis({ runs, deployments, now }, DEFAULT_SLI_TARGETS);

    // Pipeline runs are their own SLI; availability needs the service's health checks.
    const success = byName(r, 'pipelineSuccessRate');
    expect(success.value).toBeCloseTo(0.998, 12);
    expect(success.met).toBe(true);
    expect(success.budget!.bad).toBe(2);
    const avail = byName(r, 'availability');
    expect(avail.value).toBeNull();
    expect(avail.met).toBeNull();
    expect(avail.alerts).toEqual([]);
    expect(avail.source).toContain('none recorded');

    const dur = byName(r, 'deploymentDurationP95');
    // p95 of 10..29 minutes: 10 + 0.95 * 19 = 28.05 min.
    expect(dur.value).toBeCloseTo(28.05 * MIN, 6);
    expect(dur.met).toBe(false);
    // 16..29 minutes exceed 15: 14 bad of 20 against a 95% objective.
    expect(dur.budget!.bad).toBe(14);

    const eff = byName(r, 'resourceEfficiency');
    expect(eff.value).toBeCloseTo(0.75, 12);
    expect(eff.met).toBe(false);
    expect(eff.budget).toBeUndefined();

    const fail = byName(r, 'deploymentFailureRate');
    expect(fail.value).toBeCloseTo(0.05, 12);
    expect(fail.met).toBe(false);

    const rec = byName(r, 'recoveryTime');
    // Failed one ends at 5h + 15 min; the next ends at 6h + 16 min: 61 minutes.
    expect(rec.value).toBe(61 * MIN);
    expect(rec.met).toBe(false);
  });

  it('prefers deployment health samples for availability', () => {
    const deployments: Deployment[] = [
      {
        id: 'a',
        environment: 'p',
        status: 'success',
        startedAt: now - MIN,
        endedAt: now,
        healthOk: 999,
        healthFailed: 1,
        source: 'deployments',
      },
    ];
    const avail = byName(evaluateSlis({ runs: [], deployments, now }, DEFAULT_SLI_TARGETS), 'availability');
    expect(avail.value).toBeCloseTo(0.999, 12);
    expect(avail.met).toBe(true);
    expect(avail.source).toContain('health');
  });

  it('one failed laptop build of 9 with no deployment: no availability, no page', () => {
    // The case from the field: 88.89% "availability" and a PAGE from a developer's failed build.
    const runs: SliRun[] = Array.from({ length: 9 }, (_, i) => ({
      status: i === 8 ? 'failed' : 'success',
      startedAt: now - (9 - i) * MIN,
      endedAt: now - (9 - i) * MIN + 30_000,
    }));
    const r = evaluateSlis({ runs, deployments: [], now }, DEFAULT_SLI_TARGETS);
    const avail = byName(r, 'availability');
    expect(avail.value).toBeNull();
    expect(avail.alerts).toEqual([]);
    const success = byName(r, 'pipelineSuccessRate');
    expect(success.value).toBeCloseTo(8 / 9, 12);
    expect(success.met).toBe(false);
    // The short windows burn fast, but a pipeline failure is a ticket, never a page.
    expect(success.alerts!.some((a) => a.firing)).toBe(true);
    expect(r.flatMap((s) => s.alerts ?? []).filter((a) => a.severity === 'page' && a.firing)).toEqual([]);
  });

  it('failing health checks of a deployed service still page', () => {
    const deployments: Deployment[] = [
      {
        id: 'a',
        environment: 'p',
        status: 'success',
        startedAt: now - 2 * MIN,
        endedAt: now - MIN,
        healthOk: 5,
        healthFailed: 5,
        source: 'deployments',
      },
    ];
    const avail = byName(evaluateSlis({ runs: [], deployments, now }, DEFAULT_SLI_TARGETS), 'availability');
    expect(avail.value).toBeCloseTo(0.5, 12);
    expect(avail.alerts!.some((a) => a.severity === 'page' && a.firing)).toBe(true);
  });

  it('no data means unknown, not met or breached', () => {
    const r = evaluateSlis({ runs: [], deployments: [], now }, DEFAULT_SLI_TARGETS);
    for (const s of r) {
      expect(s.value).toBeNull();
      expect(s.met).toBeNull();
    }
  });
});
