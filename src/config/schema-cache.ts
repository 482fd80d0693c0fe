/** cache: and workspaces: sections (DESIGN §5). */
import { z } from 'zod';
import { size } from './units-schema.js';

export const cacheSchema = z.strictObject({
  dir: z.string().optional(),
  maxSize: size.optional(),
  remote: z
    .strictObject({
      url: z.string(),
      team: z.string().optional(),
      read: z.boolean().default(true),
      write: z.boolean().default(true),
    })
    .optional(),
});

export const workspacesSchema = z.strictObject({
  packages: z.array(z.string()).optional(),
  tasks: z.record(z.string(), z.unknown()).default({}),
});
