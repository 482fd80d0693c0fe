import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART_HPA, Hpa, type HpaSpec } from './hpa.js';

const S = 1000;

/** Syncs every 15 s from `from` with `metric(t)`; returns the count after each pass. */
function run(hpa: Hpa, from: number, to: number, metric: (t: number) => number): number[] {
  const out: number[] = [];
  for (let t = from; t <= to; t += 15) out.push(hpa.sync(t * S, { queue: metric(t) }));
  return out;
}

describe('Hpa (the chart: queue ÷ 2 per worker, up 100%/60s after 60s, down 50%/60s after 300s)', () => {
  it('scales up at most doubling per 60 s, counted from the count at the start of the period', () => {
    // 40 waiting from 1 worker: ceil(40 / 2) = 20 wanted. 1 → 2 at once (ceil(1 × 2)); the +1 at
    // t=0 stays in the period until t=60 (an event exactly 60 s old no longer counts): 4, then 8, 16, 20.
    const counts = run(new Hpa(CHART_HPA), 0, 240, () => 40);
    expect(counts).toEqual([2, 2, 2, 2, 4, 4, 4, 4, 8, 8, 8, 8, 16, 16, 16, 16, 20]);
  });

  it('leaves the count alone within the 0.1 tolerance, and a rise waits out the 60 s scale-up window', () => {
    const hpa = new Hpa(CHART_HPA, 10);
    // 21 / (2 × 10) = 1.05: within tolerance, the proposal is the current 10.
    expect(hpa.sync(0, { queue: 21 })).toBe(10);
    // 23 / 20 = 1.15: ceil(23 / 2) = 12, but the scale-up window keeps the lowest proposal of the
    // last 60 s, the 10 of t=0, until t=60, when it is no longer strictly newer than the cutoff.
    const counts = run(hpa, 15, 90, () => 23);
    expect(counts).toEqual([10, 10, 10, 12, 12, 12]);
  });

  it('holds the highest proposal of the 300 s scale-down window, then halves at most per 60 s', () => {
    const hpa = new Hpa(CHART_HPA, 20);
    expect(hpa.sync(0, { queue: 40 })).toBe(20); // 40 / 40 = 1: stays, proposal 20 recorded
    const counts = run(hpa, 15, 480, () => 0);
    const at = (t: number) => counts[t / 15 - 1];
    // The 20 of t=0 holds the count until t=300; then 0 is wanted: 20 → trunc(20 × 0.5) = 10. The
    // -10 at t=300 makes the period start at 20 until t=360 (10 stays), then 5, trunc(2.5) = 2, 1
    // (minReplicas).
    expect(at(285)).toBe(20);
    expect(at(300)).toBe(10);
    expect(at(345)).toBe(10);
    expect(at(360)).toBe(5);
    expect(at(405)).toBe(5);
    expect(at(420)).toBe(2);
    expect(at(480)).toBe(1);
  });

  it('never goes past maxReplicas', () => {
    const hpa = new Hpa(CHART_HPA, 40);
    // ceil(1000 / 2) = 500 wanted, the rate would allow 80, the bound 50.
    expect(hpa.sync(0, { queue: 1000 })).toBe(50);
  });

  it('selectPolicy picks the policy allowing the most (Max) or the least (Min) change, or none', () => {
    const spec = (selectPolicy: HpaSpec['scaleUp']['selectPolicy']): HpaSpec => ({
      ...CHART_HPA,
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy,
        policies: [
          { type: 'Percent', value: 100, periodSeconds: 60 },
          { type: 'Pods', value: 4, periodSeconds: 60 },
        ],
      },
    });
    // From 1: 100% allows 2, 4 pods allow 5.
    expect(new Hpa(spec('Max')).sync(0, { queue: 40 })).toBe(5);
    expect(new Hpa(spec('Min')).sync(0, { queue: 40 })).toBe(2);
    expect(new Hpa(spec('Disabled')).sync(0, { queue: 40 })).toBe(1);
  });

  it('CHART_HPA is what deploy/k8s/hpa.yaml says', () => {
    const file = path.join(import.meta.dirname, '../../deploy/k8s/hpa.yaml');
    const spec = parse(readFileSync(file, 'utf8')).spec;
    const ext = spec.metrics.find((m: { type: string }) => m.type === 'External').external;
    expect(ext.target).toEqual({ type: 'AverageValue', averageValue: String(CHART_HPA.targetAverageValue) });
    expect(spec.minReplicas).toBe(CHART_HPA.minReplicas);
    expect(spec.maxReplicas).toBe(CHART_HPA.maxReplicas);
    expect(spec.behavior.scaleUp).toEqual(CHART_HPA.scaleUp);
    expect(spec.behavior.scaleDown).toEqual(CHART_HPA.scaleDown);
    const utilization = (name: string) =>
      spec.metrics.find((m: { type: string; resource?: { name: string } }) => m.resource?.name === name)
        .resource.target;
    expect(utilization('cpu')).toEqual({
      type: 'Utilization',
      averageUtilization: CHART_HPA.cpu!.targetUtilization,
    });
    expect(utilization('memory')).toEqual({
      type: 'Utilization',
      averageUtilization: CHART_HPA.memory!.targetUtilization,
    });
    // The pod's requests, which utilization is a percentage of.
    const deployment = parse(
      readFileSync(path.join(import.meta.dirname, '../../deploy/k8s/deployment.yaml'), 'utf8'),
    );
    const requests = deployment.spec.template.spec.containers[0].resources.requests;
    expect(Number(requests.cpu)).toBe(CHART_HPA.cpu!.request);
    expect(requests.memory).toBe(`${CHART_HPA.memory!.request / 1024 ** 3}Gi`);
  });

  it('takes the largest of the queue, CPU and memory proposals', () => {
    // 2 workers: a queue of 2 wants 1, 1.8 cores are 90% of 2 requested (90 / 70 → ceil(2.57) = 3),
    // 3.5 GiB are 87% of 4 GiB (within the tolerance of 80%: 2).
    const hpa = new Hpa(
      { ...CHART_HPA, scaleUp: { ...CHART_HPA.scaleUp, stabilizationWindowSeconds: 0 } },
      2,
    );
    expect(hpa.sync(0, { queue: 2, cpu: 1.8, memory: 3.5 * 1024 ** 3 })).toBe(3);
    expect(hpa.lastProposedBy).toBe('cpu');
  });
});
