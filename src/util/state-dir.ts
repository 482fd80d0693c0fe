/** The `.slipway` folder of a project: Slipway's own state, never committed, never an input. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Returns `<root>/.slipway`, creating it with a `.gitignore` of `*` (as pytest and ruff do with
 * their caches): git then never lists its files as untracked, so they are neither task inputs
 * nor a change that makes every run look different, even where the project forgot to ignore it.
 */
export function stateDir(root: string): string {
  const dir = path.join(root, '.slipway');
  const ignore = path.join(dir, '.gitignore');
  if (!existsSync(ignore)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(ignore, "# Slipway's own state (history, cache, logs): never committed.\n*\n");
  }
  return dir;
}
