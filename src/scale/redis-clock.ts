/**
 * Redis' clock, as this process can read it without a round trip: one TIME at start, the offset
 * to the local clock taken at the round trip's midpoint (its error is half the round trip). The
 * coordinator stamps jobs with it and workers compare against it, so machines whose own clocks
 * disagree still agree on how old a job is.
 */
import type { Redis } from 'ioredis';

export async function redisClock(redis: Redis): Promise<() => number> {
  const t0 = Date.now();
  const [seconds, micros] = await redis.time();
  const t1 = Date.now();
  const offset = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - (t0 + t1) / 2;
  return () => Date.now() + offset;
}
