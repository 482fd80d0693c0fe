/**
 * Redis' clock, as this process can read it without a round trip: a few TIME calls at start, the
 * offset to the local clock taken at the midpoint of the fastest round trip (its error is at most
 * half that round trip; on a busy machine one call can take tens of ms, the fastest of a few
 * rarely does). The coordinator stamps jobs with it and workers compare against it, so machines
 * whose own clocks disagree still agree on how old a job is and when each step of it happened.
 */
import type { Redis } from 'ioredis';

/** TIME calls made; the fastest round trip sets the offset. */
const SAMPLES = 5;

export async function redisClock(redis: Redis): Promise<() => number> {
  let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 };
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    const [seconds, micros] = await redis.time();
    const t1 = performance.now();
    if (t1 - t0 < best.rtt) {
      const redisMs = Number(seconds) * 1000 + Number(micros) / 1000;
      best = { rtt: t1 - t0, offset: redisMs - (performance.timeOrigin + (t0 + t1) / 2) };
    }
  }
  const { offset } = best;
  return () => performance.timeOrigin + performance.now() + offset;
}
