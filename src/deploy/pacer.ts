/**
 * The origin's egress cap (`origin.maxRate` in the environment file): one shared byte budget for
 * every agent it serves. Each send waits until the link, at `rate` bytes per second, would be
 * free of what was sent before it, so a deployment does not saturate the deploy box's uplink.
 */
export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** setTimeout's longest delay; a longer one would fire at once (a tiny rate on a large artifact). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const realClock: PacerClock = {
  now: () => performance.now(),
  sleep: async (ms) => {
    for (let left = ms; left > 0; left -= MAX_TIMER_MS)
      await new Promise((r) => setTimeout(r, Math.min(left, MAX_TIMER_MS)));
  },
};

/** No rate (or not a positive one): sends never wait. */
export function pacer(
  rate: number | undefined,
  clock: PacerClock = realClock,
): (bytes: number) => Promise<void> {
  if (!rate || rate <= 0) return async () => {};
  let freeAt = 0;
  return async (bytes) => {
    const now = clock.now();
    const start = Math.max(now, freeAt);
    freeAt = start + (bytes / rate) * 1000;
    if (start > now) await clock.sleep(start - now);
  };
}
