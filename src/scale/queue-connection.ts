/**
 * The coordinator's connections to the queue: the BullMQ queue, its event stream, a plain client
 * (heartbeat) and Redis' clock read through it. A scale-out run opens them as soon as its settings
 * are checked, while it still plans, so that the first wave of jobs does not wait for them; the
 * run's `QueueRunner` takes them over and closes them. The plain client's first command announces
 * the run (announce.ts), so workers prepare its commit while the coordinator still plans.
 */
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { announceChannel } from './announce.js';
import { connectionOf, QUEUE_NAME, type QueueAddress } from './queue-address.js';
import { redisClock } from './redis-clock.js';

export interface QueueConnection {
  queue: Queue;
  events: QueueEvents;
  redis: Redis;
  /** Redis' clock (redis-clock.ts). */
  clock: () => number;
  close(): Promise<void>;
}

export async function connectQueue(
  address: QueueAddress,
  /** The run announcement to publish (announce.ts) once connected. */
  announce?: string,
): Promise<QueueConnection> {
  const connection = connectionOf(address);
  const redis = new Redis(connection);
  redis.on('error', () => {});
  // Sent as soon as the connection is up; nobody waits for it (workers that miss it prepare on
  // their first job).
  if (announce) redis.publish(announceChannel(address), announce).catch(() => {});
  const queue = new Queue(QUEUE_NAME, { connection, prefix: address.prefix });
  const events = new QueueEvents(QUEUE_NAME, { connection, prefix: address.prefix });
  queue.on('error', () => {});
  events.on('error', () => {});
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= Promise.allSettled([events.close(), queue.close()]).then(() => {
      redis.disconnect();
    }));
  try {
    const [clock] = await Promise.all([redisClock(redis), queue.waitUntilReady(), events.waitUntilReady()]);
    return { queue, events, redis, clock, close };
  } catch (e) {
    await close();
    throw e;
  }
}
