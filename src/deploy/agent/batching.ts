/** Batching and bounded parallelism for chunk transfers. */
import type { ChunkId } from '../types.js';

/** Groups ids into batches of about `bytes`, in manifest order. */
export function batch(ids: ChunkId[], sizes: Map<ChunkId, number>, bytes: number): ChunkId[][] {
  const out: ChunkId[][] = [];
  let cur: ChunkId[] = [];
  let n = 0;
  for (const id of ids) {
    cur.push(id);
    n += sizes.get(id) ?? 0;
    if (n >= bytes) {
      out.push(cur);
      cur = [];
      n = 0;
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Runs tasks with bounded concurrency; returns the first failure message, if any. */
export async function parallel<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<string | undefined>,
): Promise<string | undefined> {
  let next = 0;
  let failure: string | undefined;
  async function worker(): Promise<void> {
    while (next < items.length && failure === undefined) {
      const item = items[next++]!;
      const r = await fn(item);
      if (r !== undefined) failure ??= r;
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return failure;
}
