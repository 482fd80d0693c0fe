/**
 * The run heartbeat: while a coordinator runs, it keeps a key with a short expiry alive in Redis.
 * Workers take no job of a run whose key is gone and stop that run's running tasks, so a killed
 * coordinator leaves nothing running on the fleet for more than a few seconds.
 */
import type { Redis } from 'ioredis';

/** How long the key lives without a refresh. */
const HEARTBEAT_TTL_MS = 4000;
/** How often the coordinator refreshes it. */
export const HEARTBEAT_REFRESH_MS = 1000;

export class RunHeartbeat {
  readonly #timer: NodeJS.Timeout;

  private constructor(
    readonly redis: Redis,
    readonly key: string,
  ) {
    this.#timer = setInterval(() => {
      redis.set(key, '1', 'PX', HEARTBEAT_TTL_MS).catch(() => {});
    }, HEARTBEAT_REFRESH_MS);
    this.#timer.unref();
  }

  static async start(redis: Redis, key: string): Promise<RunHeartbeat> {
    await redis.set(key, '1', 'PX', HEARTBEAT_TTL_MS);
    return new RunHeartbeat(redis, key);
  }

  /** The run is over (or cancelled): workers stop its jobs at their next check. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.redis.del(this.key).catch(() => {});
  }
}
