import { describe, expect, it } from 'vitest';
import type { AppValidationsTable } from '../../store/app-validations.js';
import { observedFromDeploys } from './deployed.js';

const row = (i: number, environment: string, o: Partial<AppValidationsTable> = {}): AppValidationsTable => ({
  deployment_id: `d${i}`,
  target: 'a',
  environment,
  release: `r${i}`,
  wave: 0,
  measured_at: 1000 + i,
  startup_ms: 1000 * i,
  rss_bytes: 100 * i,
  cpu_cores: 0.1 * i,
  settle_ms: 1000,
  problem: null,
  ...o,
});

describe('observedFromDeploys', () => {
  it("sums up one environment's measurements: median start-up, peak memory, CPU p90 and peak", () => {
    const rows = [row(1, 'prod'), row(2, 'prod'), row(3, 'prod'), row(50, 'staging')];
    expect(observedFromDeploys(rows, 'prod')).toEqual({
      source: 'measured on 3 deploys of prod',
      startupSeconds: 2,
      memoryPeak: 300,
      cpuP90: 280,
      cpuPeak: 300,
    });
  });

  it('leaves out measurements with a problem and keeps the newest 20', () => {
    const rows = [
      ...Array.from({ length: 30 }, (_, i) => row(i + 1, 'prod')),
      row(99, 'prod', { problem: 'never healthy', startup_ms: null }),
    ];
    const o = observedFromDeploys(rows, 'prod')!;
    expect(o.source).toBe('measured on 20 deploys of prod');
    // Deploys 11..30: the median start-up is 20.5 s.
    expect(o.startupSeconds).toBe(20.5);
  });

  it('is undefined for an environment without measurements', () => {
    expect(observedFromDeploys([row(1, 'prod')], 'qa')).toBeUndefined();
  });
});
