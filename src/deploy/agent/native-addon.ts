/**
 * The agent's native addon (whole-file.c with link-many.c and copy-direct.c, compiled by the build into dist/cli/whole-file.node):
 * loaded once, on first use or ahead (preloadNativeAddon, as the agent starts listening: its
 * load cost 5-20 ms of the main thread, in the middle of a first deploy, when it came with the
 * first file). Undefined where the build could not compile it, it does not load, or
 * `SLIPWAY_NATIVE_WRITES=0` keeps the agent to JavaScript and coreutils.
 */
import { createRequire } from 'node:module';
import { bundleFile } from '../../util/package-info.js';

/** Creates a small file whole: its mtime in ms, or a negative errno (whole-file.ts). */
export type NativeWriteWhole = (file: string, data: Buffer, at: number, mode: number) => number;

/** syncfs(2) of the filesystem holding a path on libuv's pool: 0, or a negative errno. */
export type NativeSyncFs = (path: string) => Promise<number>;

/**
 * Links kept files into a staging folder on libuv's pool (link-many.c, link-ahead.ts): `paths`
 * holds the triples, `done[i]` is set for each linked, `callback` once all were tried.
 */
export type NativeLinkMany = (
  to: string,
  paths: Buffer,
  want: Float64Array,
  modes: Uint16Array,
  done: Uint8Array,
  callback: () => void,
) => void;

/**
 * A large file copied with direct I/O on libuv's pool (copy-direct.c): `dest` created with
 * `mode`, its bytes from `at` on `src`'s from `from` on (before `at`, `src`'s first), `src` read
 * direct where `readDirect`; the bytes copied, or a negative errno (-EINVAL: direct I/O refused,
 * nothing left behind).
 */
export type NativeCopyDirect = (
  src: string,
  dest: string,
  mode: number,
  readDirect: boolean,
  at: number,
  from: number,
) => Promise<number>;

/** glibc's malloc_trim(0) on libuv's pool: 1 when memory was given back, else 0. */
export type NativeTrimMalloc = () => Promise<number>;

/** What the addon offers (syncFs on Linux only, trimMalloc with glibc only). */
export interface NativeAddon {
  writeWhole?: NativeWriteWhole;
  syncFs?: NativeSyncFs;
  linkMany?: NativeLinkMany;
  copyDirect?: NativeCopyDirect;
  trimMalloc?: NativeTrimMalloc;
}

let loaded: NativeAddon | null | undefined;

/** The addon, loaded at the first call; undefined when it is not to be used or cannot load. */
export function nativeAddon(): NativeAddon | undefined {
  loaded ??= load();
  return loaded ?? undefined;
}

/** Loads the addon now (the agent, once listening): its first use then costs nothing more. */
export function preloadNativeAddon(): void {
  nativeAddon();
}

function load(): NativeAddon | null {
  if (process.env.SLIPWAY_NATIVE_WRITES === '0') return null;
  try {
    const m = createRequire(import.meta.url)(bundleFile('whole-file.node')) as Record<string, unknown>;
    return {
      writeWhole: typeof m.writeWhole === 'function' ? (m.writeWhole as NativeWriteWhole) : undefined,
      syncFs: typeof m.syncFs === 'function' ? (m.syncFs as NativeSyncFs) : undefined,
      linkMany: typeof m.linkMany === 'function' ? (m.linkMany as NativeLinkMany) : undefined,
      copyDirect: typeof m.copyDirect === 'function' ? (m.copyDirect as NativeCopyDirect) : undefined,
      trimMalloc: typeof m.trimMalloc === 'function' ? (m.trimMalloc as NativeTrimMalloc) : undefined,
    };
  } catch {
    return null;
  }
}
