/** cache: and workspaces: sections (README: Caching, Workspaces). */
import * as z from 'zod';
import { duration, size } from './units-schema.js';

export const cacheSchema = z.strictObject({
  /** Local store folder, relative to the pipeline file (default .slipway/cache). */
  dir: z.string().optional(),
  /** Upper bound of the local store; least-recently-used entries go first (default 10GiB). */
  maxSize: size.optional(),
  /** A Turborepo-compatible remote cache; the token comes from SLIPWAY_REMOTE_CACHE_TOKEN only. */
  remote: z
    .strictObject({
      url: z.string().refine((u) => /^https?:\/\/./.test(u), {
        message: 'must be an http:// or https:// URL',
        params: { hint: 'write the server address, e.g. "http://127.0.0.1:3000"' },
      }),
      team: z.string().optional(),
      read: z.boolean().default(true),
      write: z.boolean().default(true),
      timeout: duration.optional(),
    })
    .optional(),
});

export const workspacesSchema = z.strictObject({
  /** Package folders (globs); default: detected from package.json workspaces or pnpm-workspace.yaml. */
  packages: z.array(z.string()).optional(),
  /** Task templates expanded per package as "<package>#<name>"; checked when expanded. */
  tasks: z
    .record(
      z.string().regex(/^[A-Za-z0-9_.:@/-]+$/, 'template names use letters, digits and _ . : @ / -'),
      z.unknown(),
    )
    .default({}),
});
