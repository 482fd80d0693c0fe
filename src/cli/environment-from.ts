/**
 * The environment a `deploy` or `rollback` names, from the pipeline's snapshot (config/snapshot.ts)
 * when nothing it was made from changed: the YAML parser and the schema (zod, half a megabyte of
 * code to load) are then not loaded at all. A snapshot locates nothing in the file, so an
 * environment that does not resolve is resolved again from the file itself, for its located
 * diagnostics.
 */
import type { Command } from 'commander';
import { ConfigError } from '../config/diagnostic.js';
import type { Pipeline } from '../config/types.js';
import { type Environment, resolveEnvironment } from '../deploy/environment.js';
import { pipelineFrom } from './context.js';

export async function environmentFrom(
  cmd: Command,
  name: string,
  env: NodeJS.ProcessEnv,
): Promise<{ pipeline: Pipeline; environment: Environment }> {
  const snapshotted = await pipelineFrom(cmd, { snapshot: true });
  try {
    return { pipeline: snapshotted, environment: resolveEnvironment(snapshotted, name, env) };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
  }
  const pipeline = await pipelineFrom(cmd);
  return { pipeline, environment: resolveEnvironment(pipeline, name, env) };
}
