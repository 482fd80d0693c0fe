/** scaleOut: section (README: Scaling out). */
import * as z from 'zod';

export const scaleOutSchema = z.strictObject({
  /** The Redis queue `slipway run` hands tasks to, as with --queue (which wins). */
  queue: z.string().refine((u) => /^redis:\/\/./.test(u), {
    message: 'must be a redis:// URL',
    params: { hint: 'write the queue address, e.g. "redis://127.0.0.1:6379"' },
  }),
});
