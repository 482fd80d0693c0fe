/**
 * The coordinator's connections to the queue: the BullMQ queue, its event stream, a plain client
 * (heartbeat) and Redis' clock read through it. A scale-out run opens them as soon as its settings
 * are checked, while it still plans, so that the first wave of jobs does not wait for them; the
 * run's `QueueRunner` takes them over and closes them. The plain client's first command announces
 * the run (announce.ts), so workers prepare its commit while the coordinator still plans.
 *
 * A warm-up: each run is a fresh process, and its first `addBulk` ran BullMQ's and ioredis' code
 * for the first time (compiling it, shaping its objects: about 9 ms of CPU for a wave of 40 jobs,
 * ~5 ms once warm), right when the first wave's workers wake on the same machine's cores. So
 * while the run plans, one job like a run's is added to a queue of its own that no worker reads
 * (WARM_UP_QUEUE); closing the connections removes that queue's keys (and those of any warm-up
 * a killed coordinator left).
 */
import { randomUUID } from 'node:crypto';
import { type JobsOptions, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { announceChannel } from './announce.js';
import { connectionOf, QUEUE_NAME, type QueueAddress } from './queue-address.js';
import { redisClock } from './redis-clock.js';

/** The warm-up job's queue (under the same prefix): no worker reads it. */
export const WARM_UP_QUEUE = 'warm-up';

/** BullMQ options of a run's job (QueueRunner), and of the warm-up job, which takes its path. */
export function jobOptions(jobId: string, priority: number) {
  return {
    jobId,
    priority,
    removeOnComplete: { age: 3600 },
    removeOnFail: { age: 24 * 3600 },
  } satisfies JobsOptions;
}

export interface QueueConnection {
  queue: Queue;
  events: QueueEvents;
  redis: Redis;
  /** Redis' clock (redis-clock.ts). */
  clock: () => number;
  /** The warm-up job added (true) or not (false: Redis refused; it does not matter). */
  warmedUp: Promise<boolean>;
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
  // On the plain client (shared: closing this queue leaves it open), in the background.
  const warm = new Queue(WARM_UP_QUEUE, { connection: redis, prefix: address.prefix });
  warm.on('error', () => {});
  const warmedUp = warm
    .addBulk([
      {
        name: 'warm-up',
        data: { payload: { runId: randomUUID(), taskId: 'warm-up', queuedAt: Date.now() }, sig: '' },
        opts: jobOptions(`warm-up-${randomUUID()}`, 1),
      },
    ])
    .then(
      () => true,
      () => false,
    );
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= warmedUp
      .then(() => warm.obliterate({ force: true }))
      .catch(() => {})
      .then(() => Promise.allSettled([warm.close(), events.close(), queue.close()]))
      .then(() => {
        redis.disconnect();
      }));
  try {
    const [clock] = await Promise.all([redisClock(redis), queue.waitUntilReady(), events.waitUntilReady()]);
    return { queue, events, redis, clock, warmedUp, close };
  } catch (e) {
    await close();
    throw e;
  }
}
