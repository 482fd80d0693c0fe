/** analyze: section (README: Containers and Kubernetes): what `check` and `report` analyse. */
import * as z from 'zod';
import { duration } from './units-schema.js';

const dockerTarget = z.union([
  z.string().min(1),
  z.strictObject({ file: z.string().min(1), context: z.string().min(1).optional() }),
]);

export const analyzeSchema = z.strictObject({
  /** Dockerfiles, each a path or { file, context }; paths relative to slipway.yml. */
  docker: z.array(dockerTarget).default([]),
  /** Manifest files or folders (multi-document YAML). */
  k8s: z.array(z.string().min(1)).default([]),
  /** Observed start-up, CPU and memory per container (JSON; see `analyze k8s --metrics`). */
  metrics: z.string().min(1).optional(),
  /** Commits of history the layer analysis replays. */
  commits: z.number().int().positive().default(200),
  /** The pipeline task whose measured time stands for the Dockerfile's dependency install. */
  installTask: z.string().min(1).optional(),
  /** Rollout duration the settings advice aims for; default: half the current. */
  rolloutTarget: duration.optional(),
  /** `slipway check` fails on findings at or above this severity. */
  failOn: z.enum(['error', 'warning', 'note']).default('error'),
});
