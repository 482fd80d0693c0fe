/**
 * The remote cache's run-wide circuit breaker. A server that does not answer in time, keeps
 * failing or refuses the token is off for the rest of the run: the request that found out
 * trips it, every request still in flight is aborted at once (through `signal`), and no new one
 * is sent. So a hanging or slow server costs about one timeout per run, not one per lookup.
 */
export class RemoteBreaker {
  readonly #off = new AbortController();
  #reason: string | undefined;
  #slow = 0;

  constructor(
    private readonly o: {
      /** An answer later than this counts as slow. */
      slowAfterMs: number;
      /** This many slow answers in one run trip the breaker. */
      slowLimit: number;
    },
  ) {}

  /** Why the remote is off for this run; undefined while it is in use. */
  get reason(): string | undefined {
    return this.#reason;
  }

  /** Aborted when the breaker trips: requests in flight listen to it. */
  get signal(): AbortSignal {
    return this.#off.signal;
  }

  /** Turns the remote off for the run; true only for the call that did it (one warning). */
  trip(reason: string): boolean {
    if (this.#reason !== undefined) return false;
    this.#reason = reason;
    this.#off.abort(new Error(reason));
    return true;
  }

  /** Records how long the server took to answer; trips (returning the reason) when too slow too often. */
  answered(latencyMs: number): string | undefined {
    if (latencyMs <= this.o.slowAfterMs) return undefined;
    this.#slow++;
    if (this.#slow < this.o.slowLimit) return undefined;
    const reason = `${this.#slow} answers took over ${Math.round(this.o.slowAfterMs / 100) / 10} s`;
    return this.trip(reason) ? reason : undefined;
  }
}
