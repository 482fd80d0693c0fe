/**
 * Which job a worker takes: the highest-priority one that fits its free slots, cpu and memory.
 * BullMQ hands out jobs in one global priority order, so when the top job does not fit, the
 * picker holds it and takes the next, and so on (at most MAX_SKIPPED), then gives every job it
 * skipped back to the queue at its priority, where any worker can take it. It holds them only for
 * those few round trips: a worker never keeps a job it cannot start, and a small job does not wait
 * behind a big one that fits nowhere yet.
 */
import type { Request } from './resource-pool.js';

/** Jobs skipped at most before giving up on this pass (the worker retries when a slot frees). */
const MAX_SKIPPED = 16;

export interface PickerQueue<J> {
  /** The next job in priority order, without waiting; undefined when none waits. */
  next(): Promise<J | undefined>;
  /** Returns skipped jobs to the queue at their priorities. */
  giveBack(jobs: J[]): Promise<void>;
}

/**
 * Starting from `first` (already taken), the first job whose request fits now; undefined when
 * none of those looked at does. Skipped jobs are given back before it returns.
 */
export async function pickFitting<J>(
  first: J,
  o: PickerQueue<J> & { request(job: J): Request; fits(r: Request): boolean },
): Promise<J | undefined> {
  const skipped: J[] = [];
  let job: J | undefined = first;
  try {
    while (job) {
      if (o.fits(o.request(job))) return job;
      skipped.push(job);
      if (skipped.length >= MAX_SKIPPED) return undefined;
      job = await o.next();
    }
    return undefined;
  } finally {
    if (skipped.length) await o.giveBack(skipped);
  }
}
