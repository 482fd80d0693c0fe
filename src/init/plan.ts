/**
 * What `slipway init` is about to write, before it becomes text: the pipeline's tasks (or
 * workspace templates), each with the comment that says where it came from, and what could not
 * be carried over (from turbo.json). Rendered by render-pipeline.ts.
 */

import type { OutputLogs } from '../config/types.js';

export interface InitTask {
  run?: string;
  needs?: string[];
  inputs?: string[];
  outputs?: string[];
  secrets?: string[];
  cache?: false;
  outputLogs?: OutputLogs;
  /** One line shown above the task. */
  comment?: string;
}

export type PackageManager = 'npm' | 'pnpm' | 'yarn';

export interface InitPlan {
  name: string;
  packageManager: PackageManager;
  /** Files every task's hash depends on (the lockfile, turbo's globalDependencies). */
  inputs: string[];
  /** Set for a monorepo: where its packages were found, e.g. `package.json "workspaces" (npm)`. */
  workspace?: { source: string; globs: string[]; packages: number };
  /** Workspace templates (monorepo) by name. */
  templates: Map<string, InitTask>;
  /** Plain tasks by id (a single package, or root tasks of a monorepo). */
  tasks: Map<string, InitTask>;
  /** Comment lines for the top of the file. */
  notes: string[];
  /** What could not be converted (from turbo.json), one sentence each. */
  unconverted: string[];
}
