/**
 * The workspace model a loaded pipeline carries (packages and their dependencies on each other).
 * Kept apart from the expander (workspaces.ts) so a pipeline restored from its snapshot needs
 * neither YAML nor schema code.
 */

import { STATE_DIR_NAME } from '../state/paths.js';
import type { Pipeline } from './types.js';

export interface WorkspacePackage {
  name: string;
  /** Absolute folder. */
  dir: string;
  /** Names of other workspace packages it depends on. */
  deps: string[];
  scripts: Record<string, string>;
}

export interface Workspace {
  packages: Map<string, WorkspacePackage>;
  packageManager: 'npm' | 'pnpm' | 'yarn';
}

/** Folders never searched for workspace packages. */
export const WORKSPACE_SKIP: ReadonlySet<string> = new Set(['node_modules', '.git', STATE_DIR_NAME]);

const workspaces = new WeakMap<Pipeline, Workspace>();

/** The workspace a pipeline was expanded with, if any. */
export function workspaceOf(p: Pipeline): Workspace | undefined {
  return workspaces.get(p);
}

/** Attaches the workspace a pipeline was expanded with (or restored from its snapshot). */
export function rememberWorkspace(p: Pipeline, ws: Workspace): void {
  workspaces.set(p, ws);
}
