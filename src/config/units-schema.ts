/** Zod schemas for durations, sizes and resources, with messages and hints the diagnostics print. */
import * as z from 'zod';
import { parseDuration, parseSize } from '../util/units.js';

export const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `bad duration ${JSON.stringify(v)}`,
      params: { hint: 'write a number of seconds or a string such as "500ms", "90s", "10m", "1h30m"' },
    });
    return z.NEVER;
  }
  return ms;
});

export const size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const bytes = parseSize(v);
  if (bytes === undefined || bytes <= 0) {
    ctx.addIssue({
      code: 'custom',
      message:
        bytes === undefined
          ? `bad size ${JSON.stringify(v)}`
          : `size must be positive, got ${JSON.stringify(v)}`,
      params: { hint: 'write a positive number of bytes or a string such as "512MiB", "2GiB", "100MB"' },
    });
    return z.NEVER;
  }
  return bytes;
});

const positive = z.number().refine((n) => n > 0, {
  message: 'must be greater than zero',
  params: { hint: 'resources are amounts: use a positive number such as 1 or 0.5' },
});

export const resources = z.strictObject({
  cpu: positive.optional(),
  memory: size.optional(),
});
export type Resources = { cpu?: number; memory?: number };
