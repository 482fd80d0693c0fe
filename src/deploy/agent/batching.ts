/** Batching and bounded parallelism for chunk transfers. */
import type { ChunkId } from '../types.js';

/** Groups ids into batches of about `bytes` (the first of about `first`), in manifest order. */
export function batch(
  ids: ChunkId[],
  sizes: Map<ChunkId, number>,
  bytes: number,
  first = bytes,
): ChunkId[][] {
  const out: ChunkId[][] = [];
  let cur: ChunkId[] = [];
  let n = 0;
  for (const id of ids) {
    cur.push(id);
    n += sizes.get(id) ?? 0;
    if (n >= (out.length ? bytes : first)) {
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

/**
 * Turns for the batches' preparation before their requests (a delta's base read and its block
 * checksums taken): one batch at a time, in the order the turns were taken. Prepared side by side,
 * the batches in flight interleaved chunk by chunk and every request left once all were ready
 * (the 200 MB file's 1% edit: the first ~100 ms after the stage began, the origin idle until then).
 */
export class Turns {
  #last: Promise<void> = Promise.resolve();
  /** What the second turn waits for besides the first's release (settled either way). */
  #after: Promise<void> | undefined;
  #taken = 0;

  /**
   * The second turn is due once `after` settles too: the first batch (a sixteenth of a delta
   * transfer) leaves at once, to give the origin work, and the larger ones wait for it.
   */
  constructor(after?: Promise<unknown>) {
    this.#after = after?.then(
      () => {},
      () => {},
    );
  }

  /** Takes the next turn (synchronously: the order of the calls); resolves with its release once it is due. */
  take(): Promise<() => void> {
    const before = this.#taken++ === 1 && this.#after ? Promise.all([this.#last, this.#after]) : this.#last;
    let release!: () => void;
    this.#last = new Promise<void>((r) => {
      release = r;
    });
    return before.then(() => release);
  }
}

/** Resolves once the event loop has run its pending I/O callbacks (a pause in synchronous work). */
export function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
