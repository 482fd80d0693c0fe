/**
 * Redis' clock, as this process can read it without a round trip: TIME calls at start give
 * the offset to the local clock (taken at the round trip's midpoint, so its error is at most half
 * the round trip), and a few more made afterwards, in the background, replace it whenever their
 * round trip was faster: on a busy machine one call can take tens of ms, the fastest of a few
 * rarely does. The coordinator stamps jobs with it and workers compare against it, so machines
 * whose own clocks disagree still agree on how old a job is and when each step of it happened.
 */
import type { Redis } from 'ioredis';

/** TIME calls made in all (two on the way, the rest after); the fastest round trip sets the offset. */
const SAMPLES = 5;

export async function redisClock(redis: Redis): Promise<() => number> {
  let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 };
  const sample = async () => {
    const t0 = performance.now();
    const [seconds, micros] = await redis.time();
    const t1 = performance.now();
    if (t1 - t0 < best.rtt) {
      const redisMs = Number(seconds) * 1000 + Number(micros) / 1000;
      best = { rtt: t1 - t0, offset: redisMs - (performance.timeOrigin + (t0 + t1) / 2) };
    }
  };
  // The first round trip also waits for the connection to open (tens of ms, lopsided): a second
  // one, on the open connection, gives the offset the run starts with.
  await sample();
  await sample();
  void (async () => {
    for (let i = 2; i < SAMPLES; i++) await sample();
  })().catch(() => {});
  return () => performance.timeOrigin + performance.now() + best.offset;
}
