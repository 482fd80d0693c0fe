/** The resolved pipeline: what every other module consumes. */

import type { SourceLocation } from './diagnostic.js';
import type { PipelineSchema } from './schema.js';
import type { Resources } from './units-schema.js';

/** The pipeline file used when -f/--file is not given. */
export const DEFAULT_FILE = 'slipway.yml';

/** How much of a task's output `run` prints (`--output-logs`, `outputLogs:`; report/output-logs.ts). */
export const OUTPUT_LOGS = ['full', 'new-only', 'errors-only', 'hash-only', 'none'] as const;
export type OutputLogs = (typeof OUTPUT_LOGS)[number];

export interface TaskConfig {
  id: string;
  run: string;
  /** Absolute working directory. */
  cwd: string;
  needs: string[];
  /** Globs relative to cwd; undefined means "git-tracked files under cwd". */
  inputs?: string[];
  outputs: string[];
  env: Record<string, string>;
  secrets: string[];
  resources?: Resources;
  timeoutMs?: number;
  retries: number;
  cache: boolean;
  tags: string[];
  description?: string;
  /** How much of its output `run` prints; undefined: the run's default. */
  outputLogs?: OutputLogs;
  /** Workspace package this task belongs to, when expanded from a template. */
  package?: string;
}

export interface Pipeline {
  /** Absolute path of the pipeline file. */
  file: string;
  /** Directory of the pipeline file; the project root. */
  root: string;
  name: string;
  concurrency?: number;
  resources?: Resources;
  env: Record<string, string>;
  inputs: string[];
  tasks: Map<string, TaskConfig>;
  /** The validated file, for sections owned by other features (budgets, slis, cache, environments). */
  raw: PipelineSchema;
  source: string;
  /** Location of a YAML path (e.g. ['tasks', 'build', 'needs', 0]) for diagnostics found later. */
  locate(path: readonly (string | number)[], which?: 'key' | 'value'): SourceLocation;
}
