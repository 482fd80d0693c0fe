/**
 * The agent's deploy lock: one deployment at a time may stage, activate or roll back on a host.
 * The store's lease serialises deployers that share a store; this lock also stops deployers with
 * different stores (two laptops, two CI systems) from splitting a fleet. It lives in memory with
 * an expiry the holder renews: a deployer killed by `kill -9` frees the host when its lease runs
 * out, or at once when a deployer whose store proved it dead names it in `takeOver`.
 */
import { err, ok, type Result } from '../../util/result.js';

/** The header a deployer sends its lock (deployment id) in on every call that changes a host. */
export const LOCK_HEADER = 'slipway-lock';

/**
 * The header of a deploy exchange (POST /v1/deploy) that takes the lock itself, sent by a lone
 * host's deployer instead of a POST /v1/lock before and a POST /v1/unlock after (requests.ts
 * `holdHeader`): an unchanged redeploy in one round trip, ~0.4 KB, not three and 1.3 KB.
 */
export const HOLD_HEADER = 'slipway-hold';

export interface LockInfo {
  holder: string;
  owner: string;
  expiresAt: number;
}

export class DeployLock {
  #held: LockInfo | null = null;

  constructor(readonly now: () => number = Date.now) {}

  /** The live lock, or null (an expired one is gone). */
  get current(): LockInfo | null {
    if (this.#held && this.#held.expiresAt <= this.now()) this.#held = null;
    return this.#held;
  }

  /** Takes or renews the lock; refused while another live holder has it. */
  acquire(req: {
    holder: string;
    owner: string;
    ttlMs: number;
    takeOver?: string;
  }): Result<LockInfo, string> {
    const cur = this.current;
    if (cur && cur.holder !== req.holder && cur.holder !== req.takeOver)
      return err(describe(cur, this.now()));
    this.#held = { holder: req.holder, owner: req.owner, expiresAt: this.now() + req.ttlMs };
    return ok(this.#held);
  }

  /** Frees the lock if `holder` has it. */
  release(holder: string): void {
    if (this.#held?.holder === holder) this.#held = null;
  }

  /** Why a request by `holder` (undefined: a caller without a lock) may not change this host. */
  refuses(holder: string | undefined): string | undefined {
    const cur = this.current;
    if (!cur || cur.holder === holder) return undefined;
    return describe(cur, this.now());
  }
}

function describe(l: LockInfo, now: number): string {
  return `locked by deployment ${l.holder} (${l.owner}) for ${Math.ceil((l.expiresAt - now) / 1000)}s more unless renewed`;
}
