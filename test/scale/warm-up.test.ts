/**
 * The coordinator's warm-up (src/scale/queue-connection.ts): while a run plans, one job is added
 * to a queue of its own, so that the run's first wave of jobs does not pay for BullMQ's first
 * use. No worker may ever see it: the run's queue stays empty, and closing the connections leaves
 * no key of the warm-up queue in Redis, including those a killed coordinator left. Real Redis, a
 * key prefix of the test's own.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { connectionOf, parseQueueAddress, QUEUE_NAME } from '../../src/scale/queue-address.js';
import { connectQueue, WARM_UP_QUEUE } from '../../src/scale/queue-connection.js';
import { REDIS_PORT, redisAvailable } from './rig.js';

const hasRedis = await redisAvailable();
if (!hasRedis) console.warn('skipping warm-up test: no Redis on 127.0.0.1:6379');

describe.skipIf(!hasRedis)('queue connection warm-up', () => {
  const prefix = `slipway-test-warm-${process.pid}-${randomBytes(4).toString('hex')}`;
  const address = parseQueueAddress(`redis://127.0.0.1:${REDIS_PORT}/0?prefix=${prefix}`);
  const redis = new Redis({ port: REDIS_PORT, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  const keys = async (pattern: string) => {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      out.push(...batch);
    } while (cursor !== '0');
    return out.sort();
  };
  afterAll(async () => {
    const left = await keys(`${prefix}:*`);
    if (left.length) await redis.del(...left);
    redis.disconnect();
  });

  it('adds one job to a queue no worker reads, never to the run queue, and removes it on close', async () => {
    const c = await connectQueue(address);
    expect(await c.warmedUp).toBe(true);
    const warm = new Queue(WARM_UP_QUEUE, { connection: connectionOf(address), prefix });
    const tasks = new Queue(QUEUE_NAME, { connection: connectionOf(address), prefix });
    try {
      expect(await warm.getJobCountByTypes('prioritized', 'waiting')).toBe(1);
      expect(await tasks.getJobCountByTypes('prioritized', 'waiting', 'active', 'completed', 'failed')).toBe(
        0,
      );
      await c.close();
      expect(await keys(`${prefix}:${WARM_UP_QUEUE}:*`)).toEqual([]);
    } finally {
      await warm.close();
      await tasks.close();
    }
  });

  it("a later coordinator's close removes the warm-up job a killed one left", async () => {
    const killed = await connectQueue(address);
    expect(await killed.warmedUp).toBe(true);
    // Killed: its connections drop without closing.
    killed.redis.disconnect();
    killed.queue.disconnect();
    killed.events.disconnect();
    expect((await keys(`${prefix}:${WARM_UP_QUEUE}:*`)).length).toBeGreaterThan(0);
    const next = await connectQueue(address);
    expect(await next.warmedUp).toBe(true);
    await next.close();
    expect(await keys(`${prefix}:${WARM_UP_QUEUE}:*`)).toEqual([]);
  });
});
