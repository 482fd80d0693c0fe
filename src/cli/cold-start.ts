/**
 * Which code a command run here (not by the checkout's daemon) loads: `slipway deploy` loads one
 * CommonJS bundle of the CLI with only the deploy command (dist/cli/cold-deploy.cjs, built by
 * scripts/bundle.mjs with its SHA-256 beside it), compiled from a V8 code cache
 * (cli/code-cache.ts); every other command, a deploy with `SLIPWAY_CODE_CACHE=off`, or a build
 * without the bundle, loads the ES modules of dist/cli as before. Without the daemon (as under
 * CI) a deploy paid ~190 ms before its first step on the bench's machine, about a third of it
 * compiling and linking the ~60 modules the deploy needs.
 *
 * The cache lives in the user's cache folder (`$XDG_CACHE_HOME/slipway/v8`, `~/.cache/...`;
 * `~/Library/Caches/...` on macOS, `%LOCALAPPDATA%\slipway\v8` on Windows), or in the folder
 * `SLIPWAY_CODE_CACHE` names.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanCommandLine } from '../command-line.js';
import { type CachedFile, codeCacheDir, requireWithCodeCache } from './code-cache.js';

/** What the CLI's bundles export (cli/deploy-bundle.ts; main.ts's own two). */
export interface CliModule {
  main(argv: string[], ctx: unknown): Promise<void>;
  defaultContext(): unknown;
}

export interface ColdCli {
  cli: CliModule;
  /** Writes the code cache when this start had none usable; after the command's work. */
  save(): void;
}

/** The cold bundle for `argv`'s command, loaded; undefined when the ES modules load instead. */
export function coldCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ColdCli | undefined {
  if (scanCommandLine(argv.slice(2)).command !== 'deploy') return undefined;
  const setting = env.SLIPWAY_CODE_CACHE;
  if (setting === 'off' || setting === '0') return undefined;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const file = path.join(here, 'cold-deploy.cjs');
  let hash: string;
  try {
    hash = (JSON.parse(readFileSync(`${file}.json`, 'utf8')) as { sha256: string }).sha256;
  } catch {
    return undefined;
  }
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) return undefined;
  const loaded: CachedFile = requireWithCodeCache(file, hash, codeCacheDir(env));
  const exports = loaded.exports as unknown as CliModule & {
    restoreV8Flags(): boolean;
    reachedDeployment(): boolean;
    saveColdChunks?(o: Parameters<CachedFile['save']>[0]): void;
  };
  return {
    cli: exports,
    save: () => {
      const o = { restoreFlags: exports.restoreV8Flags, worth: exports.reachedDeployment() };
      loaded.save(o);
      // Its parts loaded on the way (cli/cold-chunk.ts): their caches too.
      exports.saveColdChunks?.(o);
    },
  };
}
