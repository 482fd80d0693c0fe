import { describe, expect, it } from 'vitest';
import type { HealthConfig } from './environment.js';
import { HostAnalysis, type Measurement, worst } from './health.js';

const cfg: HealthConfig = {
  path: '/health',
  intervalMs: 10,
  timeoutMs: 100,
  successes: 3,
  failures: 1,
  inconclusive: 0,
  errors: 2,
  deadlineMs: 1000,
  successStatus: [200],
};

function run(ms: Measurement[], minSamples = 0) {
  const a = new HostAnalysis();
  for (const m of ms) a.record(m);
  return a.assess(cfg, minSamples);
}

describe('health analysis (Argo semantics)', () => {
  it('needs consecutive successes', () => {
    expect(run(['Successful', 'Successful'])).toBe('Running');
    expect(run(['Successful', 'Successful', 'Successful'])).toBe('Successful');
    expect(run(['Successful', 'Error', 'Successful', 'Successful'])).toBe('Running');
  });

  it('fails past the failures allowed, not at them', () => {
    expect(run(['Failed', 'Successful', 'Successful', 'Successful'])).toBe('Successful');
    expect(run(['Failed', 'Successful', 'Failed'])).toBe('Failed');
  });

  it('fails after too many consecutive errors; errors interrupted by an answer start over', () => {
    expect(run(['Error', 'Error'])).toBe('Running');
    expect(run(['Error', 'Error', 'Error'])).toBe('Failed');
    expect(run(['Error', 'Error', 'Successful', 'Error', 'Error'])).toBe('Running');
  });

  it('is Inconclusive past the inconclusive limit', () => {
    expect(run(['Inconclusive'])).toBe('Inconclusive');
  });

  it('waits for the minimum number of samples', () => {
    expect(run(['Successful', 'Successful', 'Successful'], 5)).toBe('Running');
    expect(run(['Successful', 'Successful', 'Successful', 'Successful', 'Successful'], 5)).toBe('Successful');
  });

  it('combines hosts: Failed beats Inconclusive beats Running beats Successful', () => {
    expect(worst(['Successful', 'Inconclusive', 'Failed'])).toBe('Failed');
    expect(worst(['Successful', 'Inconclusive', 'Running'])).toBe('Inconclusive');
    expect(worst(['Successful', 'Running'])).toBe('Running');
    expect(worst(['Successful'])).toBe('Successful');
  });
});
