import { describe, expect, it } from 'vitest';
import { incompleteBeta, logGamma, tCdf, tTestFromStats, tTwoSidedP } from './student-t.js';

describe('Student t', () => {
  it('log-gamma matches factorials', () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 10);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 10);
  });

  it('incomplete beta matches closed forms', () => {
    // I_x(1, 1) = x; I_x(a, 1) = x^a.
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 12);
    expect(incompleteBeta(0.6, 3, 1)).toBeCloseTo(0.216, 12);
    expect(incompleteBeta(0, 2, 3)).toBe(0);
    expect(incompleteBeta(1, 2, 3)).toBe(1);
  });

  it('t CDF matches tables', () => {
    expect(tCdf(0, 7)).toBeCloseTo(0.5, 12);
    // df = 1 is the Cauchy distribution: F(1) = 3/4.
    expect(tCdf(1, 1)).toBeCloseTo(0.75, 10);
    expect(tCdf(2.228139, 10)).toBeCloseTo(0.975, 6);
    expect(tCdf(-2.228139, 10)).toBeCloseTo(0.025, 6);
    expect(tTwoSidedP(3.169273, 10)).toBeCloseTo(0.01, 6);
    expect(tTwoSidedP(4.586894, 10)).toBeCloseTo(0.001, 6);
    // Large df approaches the normal: two-sided p of 1.959964 is 0.05.
    expect(tTwoSidedP(1.959964, 1e6)).toBeCloseTo(0.05, 5);
  });

  it('two-sample test matches scipy.stats.ttest_ind_from_stats', () => {
    // scipy: ttest_ind_from_stats(10, 2, 20, 12, 2, 20) -> |t| = 3.16228, p = 0.0030730073
    const r = tTestFromStats(10, 2, 20, 12, 2, 20);
    expect(r.df).toBe(38);
    expect(r.t).toBeCloseTo(3.16228, 4);
    expect(r.p).toBeCloseTo(0.0030730073, 9);
  });

  it('handles degenerate samples', () => {
    expect(tTestFromStats(1, 0, 1, 2, 0, 1).p).toBe(1);
    expect(tTestFromStats(5, 0, 4, 5, 0, 4).p).toBe(1);
    expect(tTestFromStats(5, 0, 4, 6, 0, 4).p).toBe(0);
  });
});
