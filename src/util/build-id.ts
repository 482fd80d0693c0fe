/** This Slipway build, for caches that must not outlive an upgrade or a rebuild. */
import { lstatSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let build: string | undefined;

/**
 * The file this code was loaded from, by size and mtime: a rebuild or a reinstall rewrites every
 * file of the bundle, so any one of them tells builds apart.
 */
export function buildId(): string {
  if (build === undefined) {
    const st = lstatSync(fileURLToPath(import.meta.url), { throwIfNoEntry: false });
    build = st ? `${st.size} ${st.mtimeMs}` : 'unknown';
  }
  return build;
}
