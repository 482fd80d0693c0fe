/**
 * At most `limit` holders at once; the others wait in arrival order. A waiter is not a holder, so
 * however many wait, the ones that hold always make progress (counting the waiting among the
 * running is how a bounded set of uploads deadlocked once all of them were waiting).
 */
export class Semaphore {
  #held = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** Runs `work` once a place is free, and frees it when `work` settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#held >= this.limit) await new Promise<void>((r) => this.#waiting.push(r));
    else this.#held++;
    try {
      return await work();
    } finally {
      // Hand the place straight to the first waiter (the count stays), or give it back.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#held--;
    }
  }
}
