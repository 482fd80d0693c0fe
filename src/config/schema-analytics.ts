/** budgets: and slis: sections (README: Analytics). */
import { z } from 'zod';
import { duration } from './units-schema.js';

/**
 * A percentage as the brief writes SLI targets: a number of percent (99.9) or a string ("99.9%").
 * Parsed to a fraction (0.999).
 */
const percent = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : Number(v.trim().replace(/%$/, ''));
  if (!Number.isFinite(n) || n < 0 || n > 100) {
    ctx.addIssue({
      code: 'custom',
      message: `bad percentage ${JSON.stringify(v)}`,
      params: { hint: 'write a percentage between 0 and 100, such as 99.9 or "99.9%"' },
    });
    return z.NEVER;
  }
  return n / 100;
});

export const budgetsSchema = z.strictObject({
  /** Whole pipeline wall time. */
  run: duration.optional(),
  tasks: z.record(z.string(), duration).default({}),
});

export const slisSchema = z.strictObject({
  /** Share of healthy health checks of deployed targets, percent; default 99.9. */
  availability: percent.optional(),
  /** Share of completed pipeline runs that succeeded, percent; default 95. Alerts are tickets only. */
  pipelineSuccessRate: percent.optional(),
  /** p95 of deployment durations; default 15m. */
  deploymentDurationP95: duration.optional(),
  /** Mean CPU used / CPU reserved over runs, percent; default 80. */
  resourceEfficiency: percent.optional(),
  /** Share of deployments that fail or roll back, percent; default 0.1. */
  deploymentFailureRate: percent.optional(),
  /** Mean time from a failed deployment to the next success; default 5m. */
  recoveryTime: duration.optional(),
  /** SLO period for error budgets; default 30d. */
  period: duration.optional(),
});
