/** budgets: and slis: sections (README: Analytics). */
import * as z from 'zod';
import { duration, size } from './units-schema.js';

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

/**
 * What the app may cost after each deploy, measured by the agents (deploy/agent/app-validation.ts);
 * a target over budget fails its wave's health gate, which rolls the deployment back.
 */
const deployBudgetsSchema = z.strictObject({
  /** Start of the app to its first healthy answer. */
  startup: duration.optional(),
  /** Resident memory of the app's process group after the settle period. */
  rss: size.optional(),
  /** CPU cores the app uses while it settles (CPU-seconds per second). */
  cpu: z.number().positive().optional(),
  /** How long the app runs after its first healthy answer before memory and CPU are read; default 1s. */
  settle: duration.optional(),
});

export const budgetsSchema = z.strictObject({
  /** Whole pipeline wall time. */
  run: duration.optional(),
  tasks: z.record(z.string(), duration).default({}),
  deploy: deployBudgetsSchema.optional(),
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
