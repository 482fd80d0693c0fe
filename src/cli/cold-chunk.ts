/**
 * The cold deploy bundle's parts loaded only when needed (scripts/bundle.mjs): the pipeline loader
 * (YAML and zod, ~60% of the bundle's code) is its own CommonJS file, dist/cli/cold-config.cjs,
 * with a V8 code cache of its own (code-cache.ts), required the first time a deploy parses its
 * pipeline file instead of reading the snapshot (config/snapshot.ts). In the one bundle, its
 * never-run functions still cost every cold deploy ~350 KB of code cache, ~7 ms of CPU to load.
 *
 * A part takes the modules it shares with the bundle (the ConfigError class, the workspace the
 * loader remembers…) from the bundle itself, through `linked` (ids `slipway-cold:<path under
 * dist/src>`), so that there is one of each: an error it throws is the bundle's ConfigError.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { underStartupFlags } from '../util/v8-flags.js';
import { type CachedFile, codeCacheDir, requireWithCodeCache } from './code-cache.js';

/** The id prefix by which a part asks for one of the bundle's own modules. */
const LINKED_PREFIX = 'slipway-cold:';

const loaded: CachedFile[] = [];

/**
 * The exports of the part `name` (a file beside the bundle), loaded once with its code cache;
 * `shared` gives the bundle's module for each path a part may ask for.
 */
export function loadColdChunk(name: string, shared: Record<string, () => unknown>): Record<string, unknown> {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), name);
  const hash = (JSON.parse(readFileSync(`${file}.json`, 'utf8')) as { sha256: string }).sha256;
  // Compiled under the start-up V8 flags, which its cache is made under (at the end, once they
  // are put back): a part first required after a deploy changed them (the delta requests' schema,
  // the exporter) would otherwise never take a cache, nor write one.
  const part = underStartupFlags(() =>
    requireWithCodeCache(file, hash, codeCacheDir(process.env), (id) =>
      id.startsWith(LINKED_PREFIX) ? shared[id.slice(LINKED_PREFIX.length)]?.() : undefined,
    ),
  );
  loaded.push(part);
  return part.exports;
}

/** Writes the code cache of each part loaded that had none usable (code-cache.ts `save`). */
export function saveColdChunks(o: Parameters<CachedFile['save']>[0]): void {
  for (const part of loaded) part.save(o);
}
