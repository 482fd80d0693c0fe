/**
 * An agent's deploy lock taken when it is first needed, not before the walk: a lone host's deploy
 * (exclusive.ts `lazy`). Its redeploy is one exchange (agent/deploy-exchange.ts) that takes the
 * lock itself and, when nothing follows on the host (no health gate), gives it back with its
 * answer: an unchanged redeploy in one round trip and ~0.4 KB instead of three and 1.3 KB (a
 * POST /v1/lock before and a POST /v1/unlock after, with their HTTP headers). Any other call that
 * changes the host first takes the lock the ordinary way (`ensure`, waiting for a live holder as
 * the eager hold does), and so does a deployer whose exchange was refused. The host never changes
 * for a deployment that does not hold its lock; what differs from the eager hold is only when a
 * refused deployer waits: after its walk, not before.
 */
import { ok, type Result } from '../util/result.js';

export class FirstChangeHold {
  /** Whether the agent holds the lock for this deployment (so it is renewed and given back). */
  #held = false;
  #taking: Promise<Result<void, string>> | undefined;

  constructor(
    private readonly o: {
      /** Who holds it (owner.ts describeOwner); the agent adds since when. */
      owner: string;
      ttlMs: number;
      /** Takes the lock the ordinary way (waiting as the hold was told); the refusal, worded. */
      take: () => Promise<Result<void, string>>;
      /** The agent holds it now / no longer (the exclusive hold renews and releases it). */
      onHeld: (held: boolean) => void;
    },
  ) {}

  /** The HOLD_HEADER of an exchange that takes the lock itself; undefined once it is held. */
  header(once: boolean): string | undefined {
    if (this.#held || this.#taking) return undefined;
    return `${this.o.ttlMs} ${once ? 'once' : 'keep'} ${this.o.owner.replace(/[^\x20-\x7e]/g, '?').slice(0, 300)}`;
  }

  /** Before a call that changes the host: the lock held, or why it could not be. */
  ensure(): Promise<Result<void, string>> {
    if (this.#held) return Promise.resolve(ok(undefined));
    this.#taking ??= this.o.take().then((r) => {
      this.#taking = undefined;
      if (r.ok) this.#set(true);
      return r;
    });
    return this.#taking;
  }

  /** What an exchange sent with `header()` left: the lock held by the agent, or given back. */
  settle(held: boolean): void {
    this.#set(held);
  }

  #set(held: boolean): void {
    if (held === this.#held) return;
    this.#held = held;
    this.o.onHeld(held);
  }
}
