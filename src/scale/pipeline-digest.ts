/**
 * A digest of what a pipeline would run: every task's command, folder (relative to the root),
 * dependencies, inputs, outputs, environment, secret names and limits, plus the pipeline's env
 * and inputs. Coordinator and worker compute it from their own copies; a job whose digest differs
 * from the worker's is refused rather than run with another definition.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Pipeline } from '../config/types.js';

export function pipelineDigest(p: Pipeline): string {
  const tasks = [...p.tasks.values()]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((t) => [
      t.id,
      t.run,
      path.relative(p.root, t.cwd),
      [...t.needs].sort(),
      t.inputs ?? null,
      t.outputs,
      Object.entries(t.env).sort(),
      [...t.secrets].sort(),
      t.timeoutMs ?? null,
      t.retries,
      t.cache,
    ]);
  const body = JSON.stringify([Object.entries(p.env).sort(), p.inputs, tasks]);
  return createHash('sha256').update(body).digest('hex');
}
