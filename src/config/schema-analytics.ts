/** budgets: and slis: sections (DESIGN §7). */
import { z } from 'zod';
import { duration } from './units-schema.js';

export const budgetsSchema = z.strictObject({
  /** Whole pipeline wall time. */
  run: duration.optional(),
  tasks: z.record(z.string(), duration).default({}),
});

export const slisSchema = z.strictObject({
  availability: z.number().optional(),
  deploymentDurationP95: duration.optional(),
  resourceEfficiency: z.number().optional(),
  deploymentFailureRate: z.number().optional(),
  recoveryTime: duration.optional(),
});
