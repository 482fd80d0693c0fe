/** The resource pool a run packs tasks into. */
import os from 'node:os';
import type { Pipeline } from './types.js';

export interface Capacity {
  /** Concurrency cap: tasks running at once. */
  slots: number;
  /** CPU slots. */
  cpu: number;
  /** Bytes. */
  memory: number;
}

export function machineCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/**
 * Pool for a run: the concurrency cap defaults to the number of cores; cpu slots default to the
 * cap (so `-c 8` on a 2-core machine runs eight 1-cpu tasks, as turbo's --concurrency does), and
 * memory to the machine's.
 */
export function capacityFor(
  pipeline: Pick<Pipeline, 'concurrency' | 'resources'>,
  concurrency?: number,
): Capacity {
  const slots = concurrency ?? pipeline.concurrency ?? machineCores();
  return {
    slots,
    cpu: pipeline.resources?.cpu ?? slots,
    memory: pipeline.resources?.memory ?? os.totalmem(),
  };
}
