/**
 * An agent's memory given back once a deploy is over and nothing else comes for a moment: glibc's
 * malloc_trim (the native addon's trimMalloc, on the thread pool). malloc keeps the free pages of
 * its arenas (a deploy's buffers: chunks, Brotli and zlib states, on the main thread and the
 * pool's) resident, and deploys to an agent come back to back (a bench's, a CI's series): each
 * deploy's peak stood on the last one's free pages, the 20,000-file shape's agent's memory outside
 * V8's heap growing 50 -> 69 MB over a first deploy and five edits (scripts/deploy-ab.mjs, --keep 2).
 * Tried and dropped: a full collection of V8's heap as well (`gc`, exposed for the call): 15 MB
 * less at each edit's peak, but it shrank the young generation back to 2 MiB and set the old
 * generation's next limit low, so each edit then took ~55 scavenges and 3 full collections instead
 * of ~6 and 1 (--trace-gc), ~100 ms more of the agent's CPU (A/B, both orders). Nothing where
 * there is no glibc.
 */
import { nativeAddon } from './native-addon.js';

/** Quiet this long after the last request of a deploy (none in flight), the memory is given back. */
const IDLE_MS = 250;

type Collect = () => Promise<void>;

/** The agent's requests as they come and go: after one that ended a deploy, a collection once idle. */
export class IdleMemory {
  #inFlight = 0;
  /** A deploy ended since the last collection. */
  #due = false;
  #timer: NodeJS.Timeout | undefined;
  /** Collections run (for tests). */
  runs = 0;

  constructor(
    /** Resolves once the work that follows an answer is over (activation.ts pruning). */
    readonly settled: () => Promise<unknown>,
    readonly collect: Collect = collectGarbage,
    readonly idleMs = IDLE_MS,
  ) {}

  /** A request begins: a collection waiting is put off. */
  begin(): void {
    this.#inFlight++;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /** A request ended; `deployEnded`: one that ends a deploy (activate, deploy, rollback). */
  end(deployEnded: boolean): void {
    this.#inFlight--;
    if (deployEnded) this.#due = true;
    if (this.#inFlight > 0 || !this.#due || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#run();
    }, this.idleMs);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    await this.settled().catch(() => {});
    // A request came meanwhile: its end schedules the collection again.
    if (this.#inFlight > 0 || !this.#due || this.#timer) return;
    this.#due = false;
    this.runs++;
    await this.collect().catch(() => {});
  }
}

/** malloc's free pages given back (where the addon has trimMalloc). */
export async function collectGarbage(): Promise<void> {
  await nativeAddon()?.trimMalloc?.();
}
