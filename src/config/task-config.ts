/** The one conversion from a validated task entry to the TaskConfig every module consumes. */
import path from 'node:path';
import type { TaskSchema } from './schema.js';
import type { TaskConfig } from './types.js';

/** `baseDir` is where `cwd:` is relative to (the pipeline's folder, or a workspace package's). */
export function toTaskConfig(
  id: string,
  t: Omit<TaskSchema, 'run'> & { run: string },
  baseDir: string,
  pkg?: string,
): TaskConfig {
  return {
    id,
    run: t.run,
    cwd: path.resolve(baseDir, t.cwd ?? '.'),
    needs: t.needs,
    inputs: t.inputs,
    outputs: t.outputs,
    env: t.env,
    secrets: t.secrets,
    resources: t.resources,
    timeoutMs: t.timeout,
    retries: t.retries,
    cache: t.cache,
    tags: t.tags,
    description: t.description,
    ...(t.outputLogs !== undefined ? { outputLogs: t.outputLogs } : {}),
    ...(pkg !== undefined ? { package: pkg } : {}),
  };
}
