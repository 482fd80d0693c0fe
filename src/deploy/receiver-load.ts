/**
 * A receiver's side of adaptive compression (adaptive-level.ts): one per bulk transfer, it names
 * the transfer to the origin (`x-slipway-transfer`, so the transfer's concurrent requests share
 * one level) and reports how busy this process's event loop was since its previous report
 * (`x-slipway-load`, 0-1). A busy receiver tells the origin not to compress more when its socket
 * fills; an idle one that a full socket means a slow link.
 */
import { randomBytes } from 'node:crypto';
import { type EventLoopUtilization, performance } from 'node:perf_hooks';

/** Shorter intervals say little: the report before is sent again. */
const MIN_INTERVAL_MS = 20;

export class ReceiverLoad {
  readonly id = randomBytes(8).toString('hex');
  #since: EventLoopUtilization = performance.eventLoopUtilization();
  #at = performance.now();
  #last: number | undefined;

  /** The headers of the transfer's next request (no load until an interval has passed). */
  headers(): Record<string, string> {
    const now = performance.now();
    if (now - this.#at >= MIN_INTERVAL_MS) {
      this.#last = performance.eventLoopUtilization(this.#since).utilization;
      this.#since = performance.eventLoopUtilization();
      this.#at = now;
    }
    return {
      'x-slipway-transfer': this.id,
      ...(this.#last === undefined ? {} : { 'x-slipway-load': this.#last.toFixed(3) }),
    };
  }
}
