/**
 * How a release is made durable before its name appears (assembly.ts): the policy, per-file
 * fsyncs or one flush of the whole filesystem, and the syncs it is built from. Apart from the
 * assembly so the choice and what it cost when measured (bench/release-fsync.ts) read in one
 * place.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { fsyncPath } from '../../state/atomic-write.js';
import { nativeAddon } from './native-addon.js';

/**
 * How a release is made durable before its name appears: `fsync` syncs each written file (many at
 * once) and every folder; `syncfs` writes without syncing and flushes the whole filesystem once
 * (`sync -f`, which covers the folders too); `auto` (the default) syncs each file and folder when
 * it wrote only a few files and flushes the filesystem when it wrote many (bench/release-fsync.ts: one flush costs
 * 0.3-0.6x of per-file fsyncs here, and a flush that fails falls back to them); `none` is for
 * the benchmark's comparison only.
 */
export type Durability = 'auto' | 'fsync' | 'syncfs' | 'none';

/**
 * Up to this many written files, `auto` fsyncs them (and the folders) one by one rather than
 * flushing the whole filesystem, whose cost depends on what every other process has written.
 */
const FEW_FILES = 64;

/** Whether a durable assembly that wrote `written` files flushes the filesystem (else fsyncs each). */
export function flushesFilesystem(durability: Durability, written: number): boolean {
  return durability === 'syncfs' || (durability === 'auto' && written > FEW_FILES);
}

/**
 * Flushes the filesystem holding `p` (syncfs(2)); false if it failed. Through the native addon on
 * libuv's pool where it loads (native-addon.ts), else through coreutils' `sync -f`: a fork of the
 * agent and an exec, 4-40 ms of its main thread per flush in the web build's first deploy's CPU
 * profiles (a streamed stage flushes two or three times).
 */
export function syncFilesystem(p: string): Promise<boolean> {
  const native = nativeAddon()?.syncFs;
  if (native) return native(p).then((r) => r === 0);
  return new Promise<boolean>((resolve) => execFile('sync', ['-f', p], (e) => resolve(!e)));
}

/** Whether two paths are on one filesystem (false when either cannot be looked at). */
export async function sameFilesystem(a: string, b: string): Promise<boolean> {
  try {
    const [sa, sb] = await Promise.all([stat(a), stat(b)]);
    return sa.dev === sb.dev;
  } catch {
    return false;
  }
}

/** fsyncs paths, `width` at once (the journal commits concurrent syncs together). */
export async function fsyncEach(paths: string[], width: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < paths.length) await fsyncPath(paths[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, paths.length) }, worker));
}
