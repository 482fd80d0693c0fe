/**
 * A chunking pool (cdc-pool.ts) started ahead of a deploy by a process loaded before its command
 * comes (the daemon's spare, cli/spare.ts): its workers loaded and their WebAssembly compiled
 * while nobody waits, so that a large file's chunking in segments costs the deploy no worker
 * start-up (~40-50 ms before a worker is ready, ~100-150 ms of CPU: large-chunks.ts). The walk
 * takes it instead of starting its own (artifact.ts); a process takes it once.
 */
import { CdcPool } from './cdc-pool.js';

let warm: CdcPool | undefined;

/** Starts a pool of `threads` workers and resolves once they are ready (false: none, or they failed). */
export async function warmPool(threads: number): Promise<boolean> {
  warm ??= CdcPool.create(threads);
  if (!warm) return false;
  if (await warm.ready()) return true;
  await warm.close();
  warm = undefined;
  return false;
}

/** Whether a warm pool waits to be taken. */
export function warmPoolHeld(): boolean {
  return warm !== undefined && !warm.failed;
}

/** The warm pool, once: its taker closes it. */
export function takeWarmPool(): CdcPool | undefined {
  const p = warm;
  warm = undefined;
  return p?.failed ? undefined : p;
}
