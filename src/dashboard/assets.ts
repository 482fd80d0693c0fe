/**
 * The dashboard's front end, built by `npm run build` (scripts/bundle.mjs) into dist/dashboard/:
 * one script and one stylesheet, served from memory. No CDN: the machines are offline.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DashboardAssets {
  js: string;
  css: string;
}

/** dist/dashboard of the package this module belongs to (found by walking up to package.json). */
function assetDir(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'dist', 'dashboard');
    dir = path.dirname(dir);
  }
  return undefined;
}

/** Loads the built assets, or undefined when the front end has not been built. */
export function loadAssets(dir = assetDir()): DashboardAssets | undefined {
  if (!dir) return undefined;
  const js = path.join(dir, 'app.js');
  const css = path.join(dir, 'app.css');
  if (!existsSync(js) || !existsSync(css)) return undefined;
  return { js: readFileSync(js, 'utf8'), css: readFileSync(css, 'utf8') };
}
