/**
 * A CommonJS file compiled with a V8 code cache, as the v8-compile-cache package does: Node.js 20
 * has no `module.enableCompileCache` (22.1+) and no code cache for ES modules, so the CLI that a
 * cold `slipway deploy` runs is one CommonJS bundle (cli/cold-start.ts), compiled by
 * `vm.Script` from the cache of an earlier run. The cache is made at the end of a command, so it
 * holds the bytecode of every function the command ran, not only the top level's. Measured
 * (unchanged redeploys without the daemon, each build in a checkout of its own, 16 alternating
 * runs, load 7-8): CPU at the deploy's first step 167 -> 138 ms (20,000 files) and 186 -> 151 ms
 * (one 200 MB file), at exit 382 -> 344 and 213 -> 177 ms. A cache made before the deploy's first
 * V8 flag change instead saved ~20 ms less at the first step and ~35 ms less at exit.
 *
 * It never changes what runs, only how fast: a cache file is used only when it is whole (its
 * SHA-256 in its header), its owner's alone, and named for this bundle's content, this Node.js
 * and this architecture; V8 checks its own version and flags and rejects any other cache, and a
 * rejected or missing one is simply compiled from source (about as fast as the ES modules) and
 * written anew, atomically, at the end (~20 ms; a missing one only at the second start without
 * it). Every failure to read or write it is silent.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createRequire, Module } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';

/** A cache file's first bytes, then the payload's SHA-256, then V8's payload. */
const MAGIC = Buffer.from('slipway-v8-cache-1\n');
const HEADER = MAGIC.length + 32;

export interface CachedFile {
  /** The file's `module.exports`. */
  readonly exports: Record<string, unknown>;
  /** How its code was compiled: from a cache V8 took, or from source (none, unusable, or rejected). */
  readonly compiled: 'from-cache' | 'from-source';
  /**
   * Writes the cache when it was missing or unusable, after `restoreFlags` (V8 flags changed since
   * start-up put back: a cache is stamped with them); nothing when it cannot put them back. Call it
   * once the command's work is done; with `worth` false (a run that used little of the file: its
   * cache would be taken, and kept, by the runs that use more) only the mark below is left.
   */
  save(o?: { restoreFlags?: () => boolean; worth?: boolean }): void;
}

/**
 * Loads the CommonJS `file`, whose content hash is `hash` (computed when it was built), with the
 * code cache kept in `dir` (none when undefined). The file must be ASCII (esbuild's default
 * output), read as Latin-1: that is the same text, decoded faster.
 */
export function requireWithCodeCache(
  file: string,
  hash: string,
  dir: string | undefined,
  /** Modules the file takes from its loader instead of `require` (what `linked` has under the id; cold-chunk.ts). */
  linked?: (id: string) => unknown,
): CachedFile {
  const source = readFileSync(file, 'latin1');
  const cacheFile =
    dir &&
    path.join(dir, `${path.basename(file)}-${hash.slice(0, 16)}-${process.version}-${process.arch}.v8`);
  const cached = cacheFile ? readCache(cacheFile) : undefined;
  const cachedData = cached instanceof Buffer ? cached : undefined;
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const fromCache = cachedData !== undefined && !script.cachedDataRejected;
  // The stamp of the flags V8 compiles under now, before the command changes any: a cache made
  // under other flags is not written (it would be rejected at every start).
  const flagsAtStart = fromCache || !cacheFile ? undefined : flagStamp();
  const module = { exports: {} as Record<string, unknown> };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  const own = createRequire(file);
  const require = linked
    ? Object.assign((id: string) => linked(id) ?? own(id), { resolve: own.resolve, cache: own.cache })
    : own;
  run.call(module.exports, module.exports, require, module, file, path.dirname(file));
  let saved = false;
  return {
    exports: module.exports,
    compiled: fromCache ? 'from-cache' : 'from-source',
    save({ restoreFlags, worth = true } = {}) {
      if (saved || fromCache || !cacheFile || !flagsAtStart) return;
      saved = true;
      try {
        // Made at the second start without one: where nothing is kept from one run to the next
        // (a CI job's fresh container), the first leaves only a mark, not ~20 ms of making it.
        const seen = `${cacheFile}.seen`;
        if (!worth || (cached === 'missing' && !existsSync(seen))) {
          if (!existsSync(seen)) {
            mkdirSync(path.dirname(seen), { recursive: true, mode: 0o700 });
            writeFileSync(seen, '');
          }
          return;
        }
        if (restoreFlags && !restoreFlags()) return;
        if (!flagsAtStart.equals(flagStamp())) return;
        writeCache(
          cacheFile,
          () => script.createCachedData(),
          `${path.basename(file)}-`,
          `-${hash.slice(0, 16)}-`,
        );
        rmSync(seen, { force: true });
      } catch {
        // A cache is only a shortcut: the next start compiles from source again.
      }
    },
  };
}

/** The part of a code cache's header that V8 compares with the flags it runs under (V8 11: bytes 12-16). */
function flagStamp(): Buffer {
  return new vm.Script('0').createCachedData().subarray(12, 16);
}

/** The payload of a whole cache file that only its owner may write; 'missing', or undefined when unusable. */
function readCache(file: string): Buffer | 'missing' | undefined {
  let fd: number | undefined;
  try {
    try {
      fd = openSync(file, 'r');
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : undefined;
    }
    const st = fstatSync(fd);
    if (!st.isFile() || st.size <= HEADER || st.size > 256 * 1024 * 1024) return undefined;
    // Compiled code runs as this user: never from a file someone else could have written (on
    // Windows, where modes say nothing of that, the folder is the user's own).
    if (process.platform !== 'win32' && (st.uid !== process.getuid?.() || (st.mode & 0o022) !== 0))
      return undefined;
    const all = Buffer.allocUnsafe(st.size);
    let at = 0;
    while (at < all.length) {
      const n = readSync(fd, all, at, all.length - at, at);
      if (n === 0) return undefined;
      at += n;
    }
    if (!all.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
    const payload = all.subarray(HEADER);
    const sum = createHash('sha256').update(payload).digest();
    return sum.equals(all.subarray(MAGIC.length, HEADER)) ? payload : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes `file` whole or not at all (a temporary file renamed over it), in a folder only its
 * owner can enter, and removes the folder's caches of other builds of the same bundle (names
 * starting with `bundle` and without `build`).
 */
function writeCache(file: string, make: () => Buffer, bundle: string, build: string): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  // Opened before the cache is made (~15 ms for the deploy bundle's): a folder it cannot be
  // written to costs nothing at each start.
  let fd: number | undefined = openSync(tmp, 'w', 0o600);
  try {
    const payload = make();
    const whole = Buffer.concat([MAGIC, createHash('sha256').update(payload).digest(), payload]);
    for (let at = 0; at < whole.length; ) at += writeSync(fd, whole, at);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } finally {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
  }
  for (const name of readdirSync(dir))
    if (name.startsWith(bundle) && !name.includes(build) && /\.v8(\.seen)?$/.test(name))
      rmSync(path.join(dir, name), { force: true });
}

/**
 * Where the cold CLI keeps its code caches: the folder `SLIPWAY_CODE_CACHE` names, else the
 * user's cache folder (undefined when there is no home). The caller handles `off`.
 */
export function codeCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  const setting = env.SLIPWAY_CODE_CACHE;
  return setting ? path.resolve(setting) : userCacheDir(env);
}

/** The user's cache folder for Slipway's code caches; undefined when there is no home. */
function userCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  if (process.platform === 'win32') return env.LOCALAPPDATA && path.join(env.LOCALAPPDATA, 'slipway', 'v8');
  let home: string;
  try {
    home = os.homedir();
  } catch {
    return undefined;
  }
  if (!path.isAbsolute(home)) return undefined;
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Caches', 'slipway', 'v8');
  const xdg = env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.cache'), 'slipway', 'v8');
}
