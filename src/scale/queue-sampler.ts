/**
 * The queue's length while a `--queue` run lasts, for `slipway report`'s HPA replay
 * (hpa-replay.ts): once a second the coordinator counts the jobs waiting for a worker (the HPA's
 * metric) and those running. A sample is kept when a count changed, and at least every 10 s while
 * nothing does, so a reader can tell a steady queue from a coordinator that stopped sampling.
 */
import type { Queue } from 'bullmq';
import type { QueueSample } from '../store/queue-samples.js';
import { waitingJobs } from './metrics.js';

const SAMPLE_MS = 1000;
/** Within SAMPLE_STALE_MS (hpa-replay.ts) with room to spare. */
const KEEP_MS = 10_000;

export class QueueSampler {
  readonly samples: QueueSample[] = [];
  readonly #queue: Queue;
  readonly #timer: NodeJS.Timeout;
  #busy: Promise<void> | undefined;

  constructor(queue: Queue) {
    this.#queue = queue;
    this.#timer = setInterval(() => void this.#sample(false), SAMPLE_MS);
    this.#timer.unref();
    void this.#sample(false);
  }

  /** Takes a last sample (kept whatever it says) and stops. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#busy;
    await this.#sample(true);
  }

  #sample(last: boolean): Promise<void> {
    if (this.#busy) return this.#busy;
    this.#busy = (async () => {
      try {
        const [waiting, active] = await Promise.all([waitingJobs(this.#queue), this.#queue.getActiveCount()]);
        const at = Date.now();
        const prev = this.samples.at(-1);
        if (last || !prev || prev.waiting !== waiting || prev.active !== active || at - prev.at >= KEEP_MS)
          this.samples.push({ at, waiting, active });
      } catch {
        // Redis away for a moment: the gap reads as no sample (the replay treats it as an empty queue).
      } finally {
        this.#busy = undefined;
      }
    })();
    return this.#busy;
  }
}
