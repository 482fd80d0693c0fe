/** App validation over history: per-deploy medians, the newest against before, change points, budgets. */
import { describe, expect, it } from 'vitest';
import { overBudget } from '../deploy/app-budget.js';
import type { AppValidationsTable } from '../store/app-validations.js';
import { appValidationReport } from './app-validation.js';

const MiB = 1024 * 1024;

function rows(startups: readonly number[]): AppValidationsTable[] {
  return startups.flatMap((ms, i) =>
    ['a', 'b'].map((target, k) => ({
      deployment_id: `d${String(i).padStart(2, '0')}`,
      target,
      environment: 'prod',
      release: `v${i}`,
      wave: 1,
      measured_at: 1_000_000 + i * 3_600_000 + k,
      // Target b is a little slower; the deploy's value is the median over targets.
      startup_ms: ms + k * 20,
      rss_bytes: 100 * MiB,
      cpu_cores: 0.1,
      settle_ms: 1000,
      problem: null,
    })),
  );
}

describe('appValidationReport', () => {
  it('finds "the new release starts 40% slower" as a change point at that deploy', () => {
    const noise = [0, 15, -10, 5, -15, 10, -5, 0, 12, -8];
    const series = [...noise.map((n) => 1000 + n), ...noise.slice(0, 6).map((n) => 1400 + n)];
    const [env] = appValidationReport(rows(series));
    const startup = env!.metrics.find((m) => m.metric === 'startupMs')!;
    expect(startup.samples).toBe(16);
    expect(startup.changePoints).toHaveLength(1);
    expect(startup.changePoints[0]).toMatchObject({ deploymentId: 'd10', release: 'v10' });
    expect(startup.changePoints[0]!.change).toBeCloseTo(0.4, 1);
    expect(env!.note).toBeNull();
    // Steady memory: no change point.
    expect(env!.metrics.find((m) => m.metric === 'rssBytes')!.changePoints).toEqual([]);
  });

  it('says too few deploys are too few, and still compares the newest', () => {
    const [env] = appValidationReport(rows([1000, 1010, 1500]));
    expect(env!.note).toMatch(/3 measured deploys: too few for change points/);
    const startup = env!.metrics.find((m) => m.metric === 'startupMs')!;
    expect(startup.changePoints).toEqual([]);
    expect(startup.latest).toBe(1510);
    expect(startup.change).toBeCloseTo(1510 / 1015 - 1);
  });
});

describe('overBudget', () => {
  const budgets = { settleMs: 1000, startupMs: 5000, rssBytes: 512 * MiB, cpuCores: 1 };
  it('names each budget a measurement exceeds, and nothing unmeasured', () => {
    expect(overBudget({ startupMs: 7200, rssBytes: 100 * MiB, cpuCores: 0.2 }, budgets)).toEqual([
      'start-up 7.20s exceeds the budget of 5.00s',
    ]);
    expect(overBudget({ startupMs: null, rssBytes: 600 * MiB, cpuCores: 1.5 }, budgets)).toHaveLength(2);
    expect(overBudget({ startupMs: 7200, rssBytes: null, cpuCores: null }, { settleMs: 1000 })).toEqual([]);
  });
});
