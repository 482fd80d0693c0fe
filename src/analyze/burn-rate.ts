/**
 * Error budgets and multiwindow, multi-burn-rate alerts (Google SRE workbook, "Alerting on SLOs",
 * approach 6): alert when both a long and a short window burn the budget faster than a threshold.
 */

/** One good/bad event of a ratio SLI, at a time (epoch ms). */
export interface SliEvent {
  at: number;
  good: boolean;
}

export interface BurnWindowRule {
  longMs: number;
  shortMs: number;
  /** Burn-rate threshold (1 = spending the budget exactly over the SLO period). */
  burnRate: number;
  severity: 'page' | 'ticket';
}

const MIN = 60_000;
const HOUR = 60 * MIN;

/** The workbook's recommended rules for a 30-day SLO period. */
export const SRE_WORKBOOK_RULES: readonly BurnWindowRule[] = [
  { longMs: HOUR, shortMs: 5 * MIN, burnRate: 14.4, severity: 'page' },
  { longMs: 6 * HOUR, shortMs: 30 * MIN, burnRate: 6, severity: 'page' },
  { longMs: 3 * 24 * HOUR, shortMs: 6 * HOUR, burnRate: 1, severity: 'ticket' },
];

/** Burn rate over the window ending at `now`: bad ratio / allowed bad ratio; 0 without events. */
export function burnRate(
  events: readonly SliEvent[],
  objective: number,
  windowMs: number,
  now: number,
): number {
  let total = 0;
  let bad = 0;
  for (const e of events) {
    if (e.at > now || e.at <= now - windowMs) continue;
    total++;
    if (!e.good) bad++;
  }
  if (total === 0) return 0;
  const allowed = 1 - objective;
  if (allowed <= 0) return bad > 0 ? Infinity : 0;
  return bad / total / allowed;
}

export interface ErrorBudget {
  total: number;
  bad: number;
  /** Measured good ratio (NaN without events). */
  ratio: number;
  /** Bad events the objective allows over the period. */
  allowedBad: number;
  /** Fraction of the budget left: 1 untouched, 0 spent, negative overspent. */
  remaining: number;
}

/** Error budget over the SLO period ending at `now`. */
export function errorBudget(
  events: readonly SliEvent[],
  objective: number,
  periodMs: number,
  now: number,
): ErrorBudget {
  let total = 0;
  let bad = 0;
  for (const e of events) {
    if (e.at > now || e.at <= now - periodMs) continue;
    total++;
    if (!e.good) bad++;
  }
  const allowedBad = (1 - objective) * total;
  const remaining = total === 0 ? 1 : allowedBad === 0 ? (bad === 0 ? 1 : -Infinity) : 1 - bad / allowedBad;
  return { total, bad, ratio: total ? (total - bad) / total : Number.NaN, allowedBad, remaining };
}

export interface BurnAlert extends BurnWindowRule {
  longBurn: number;
  shortBurn: number;
  firing: boolean;
}

/** Evaluates each rule: firing when both windows burn at or above its threshold. */
export function burnAlerts(
  events: readonly SliEvent[],
  objective: number,
  now: number,
  rules: readonly BurnWindowRule[] = SRE_WORKBOOK_RULES,
): BurnAlert[] {
  return rules.map((rule) => {
    const longBurn = burnRate(events, objective, rule.longMs, now);
    const shortBurn = burnRate(events, objective, rule.shortMs, now);
    return { ...rule, longBurn, shortBurn, firing: longBurn >= rule.burnRate && shortBurn >= rule.burnRate };
  });
}
