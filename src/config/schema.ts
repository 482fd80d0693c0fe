/** The slipway.yml schema (README: The pipeline file). Sections owned by other features live in their own files. */
import * as z from 'zod';
import { outputGlob } from './output-glob.js';
import { budgetsSchema, slisSchema } from './schema-analytics.js';
import { analyzeSchema } from './schema-analyze.js';
import { cacheSchema, workspacesSchema } from './schema-cache.js';
import { environmentsSchema } from './schema-deploy.js';
import { scaleOutSchema } from './schema-scale.js';
import { OUTPUT_LOGS } from './types.js';
import { duration, resources } from './units-schema.js';

const stringList = z.array(z.string());
const envMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));

export const taskSchema = z.strictObject({
  run: z.string().min(1),
  description: z.string().optional(),
  cwd: z.string().optional(),
  needs: stringList.default([]),
  inputs: stringList.optional(),
  outputs: z.array(outputGlob).default([]),
  env: envMap.default({}),
  secrets: stringList.default([]),
  resources: resources.optional(),
  timeout: duration.optional(),
  retries: z.number().int().min(0).default(0),
  cache: z.boolean().default(true),
  tags: stringList.default([]),
  outputLogs: z.enum(OUTPUT_LOGS).optional(),
});
export type TaskSchema = z.output<typeof taskSchema>;

export const pipelineSchema = z.strictObject({
  /** The JSON Schema editors validate this file with (see config/json-schema.ts); ignored here. */
  $schema: z.string().optional(),
  version: z.literal(1).default(1),
  name: z.string().optional(),
  concurrency: z.number().int().positive().optional(),
  resources: resources.optional(),
  env: envMap.default({}),
  /** Files every task's hash depends on (e.g. the lockfile). */
  inputs: stringList.default([]),
  tasks: z
    .record(
      z.string().regex(/^[A-Za-z0-9_.:@/#-]+$/, 'task ids use letters, digits and _ . : @ / # -'),
      taskSchema,
    )
    .default({}),
  budgets: budgetsSchema.optional(),
  slis: slisSchema.optional(),
  cache: cacheSchema.optional(),
  workspaces: workspacesSchema.optional(),
  environments: environmentsSchema.optional(),
  analyze: analyzeSchema.optional(),
  scaleOut: scaleOutSchema.optional(),
});
export type PipelineSchema = z.output<typeof pipelineSchema>;
