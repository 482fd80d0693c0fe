/** This Slipway build, for caches that must not outlive an upgrade or a rebuild. */
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let build: string | undefined;

/**
 * The bundle's `main.js` beside this code (or, unbundled, the file this code was loaded from), by
 * size and mtime in whole nanoseconds, `size:sec.nsec` (integers, which the native client
 * src/daemon/client.c formats identically from its own lstat): a rebuild or a reinstall
 * rewrites every file of the bundle, so any one of them tells builds apart, and naming one file makes every process of a build agree (the daemon's
 * client is bundled on its own, apart from the chunks the CLI shares).
 */
export function buildId(): string {
  if (build === undefined) {
    const here = fileURLToPath(import.meta.url);
    const st =
      lstatSync(path.join(path.dirname(here), 'main.js'), { bigint: true, throwIfNoEntry: false }) ??
      lstatSync(here, { bigint: true, throwIfNoEntry: false });
    build = st
      ? `${st.size}:${st.mtimeNs / 1_000_000_000n}.${String(st.mtimeNs % 1_000_000_000n).padStart(9, '0')}`
      : 'unknown';
  }
  return build;
}
