import { describe, expect, it } from 'vitest';
import { burnAlerts, burnRate, errorBudget, type SliEvent } from './burn-rate.js';

const MIN = 60_000;
const now = 1_000 * 24 * 3_600_000;

/** n events spread evenly over the last `spanMs`, the first `bad` of them (oldest) bad. */
function events(n: number, bad: number, spanMs: number, end = now): SliEvent[] {
  return Array.from({ length: n }, (_, i) => ({ at: end - spanMs + ((i + 1) * spanMs) / n, good: i >= bad }));
}

describe('burn rates and error budgets', () => {
  it('burn rate is the bad ratio over the allowed ratio', () => {
    // 1 bad in 100 against a 99.9% objective burns 10x.
    expect(burnRate(events(100, 1, 60 * MIN), 0.999, 60 * MIN, now)).toBeCloseTo(10, 9);
    expect(burnRate([], 0.999, 60 * MIN, now)).toBe(0);
    // Events outside the window do not count.
    expect(burnRate(events(10, 10, 60 * MIN, now - 2 * 60 * MIN), 0.99, 60 * MIN, now)).toBe(0);
  });

  it('error budget left over the period', () => {
    // 1000 events at 99% allow 10 bad; 4 bad leave 60%.
    const b = errorBudget(events(1000, 4, 24 * 60 * MIN), 0.99, 30 * 24 * 60 * MIN, now);
    expect(b.allowedBad).toBeCloseTo(10, 9);
    expect(b.remaining).toBeCloseTo(0.6, 9);
    expect(b.ratio).toBeCloseTo(0.996, 9);
    // Overspent budgets go negative.
    expect(errorBudget(events(100, 3, 60 * MIN), 0.99, 30 * 24 * 60 * MIN, now).remaining).toBeCloseTo(-2, 9);
  });

  it('pages only when both the long and the short window burn fast', () => {
    // 2% bad over the last hour at 99.9% = burn 20 in both 1h and 5m windows (bad events spread).
    const spread: SliEvent[] = Array.from({ length: 600 }, (_, i) => ({
      at: now - 60 * MIN + ((i + 1) * 60 * MIN) / 600,
      good: i % 50 !== 0,
    }));
    const fast = burnAlerts(spread, 0.999, now);
    expect(fast[0]!.firing).toBe(true);
    expect(fast[0]!.longBurn).toBeCloseTo(20, 6);
    // The same bad events, all older than 5 minutes: the short window is clean, so no page.
    const old = spread.map((e) => (e.at > now - 5 * MIN ? { ...e, good: true } : e));
    const recovered = burnAlerts(old, 0.999, now);
    expect(recovered[0]!.longBurn).toBeGreaterThan(14.4);
    expect(recovered[0]!.firing).toBe(false);
    expect(recovered.map((r) => r.severity)).toEqual(['page', 'page', 'ticket']);
  });
});
