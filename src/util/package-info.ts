/**
 * The installed Slipway package: its folder (found upward from this file, whether it runs from
 * the bundle in dist/cli or from dist/src), its version, and the JSON Schema it ships.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The folder holding Slipway's package.json. */
function packageRoot(): string {
  root ??= findRoot();
  return root;
}

function findRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; ) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && readManifest(manifest).name === 'slipway') return dir;
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(here, '../..');
    dir = up;
  }
}

function readManifest(file: string): { name?: string; version?: string } {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
  } catch {
    return {};
  }
}

/** Slipway's version, from its package.json. */
export function slipwayVersion(): string {
  return readManifest(path.join(packageRoot(), 'package.json')).version ?? 'unknown';
}

/** The JSON Schema of slipway.yml that the build writes and the package ships. */
export function schemaFile(): string {
  return path.join(packageRoot(), 'dist', 'slipway.schema.json');
}

/** A file the build compiles into the bundle's folder (dist/cli), e.g. a native addon. */
export function bundleFile(name: string): string {
  return path.join(packageRoot(), 'dist', 'cli', name);
}
