/**
 * The origin's egress cap (`origin.maxRate` in the environment file): one shared byte budget for
 * every agent it serves. Each send waits until the link, at `rate` bytes per second, would be
 * free of what was sent before it, so a deployment does not saturate the deploy box's uplink.
 */
export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: PacerClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
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
