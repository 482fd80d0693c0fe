/**
 * Where the queue lives: `redis://HOST:PORT[/DB][?prefix=NAME]`. The prefix keeps runs of
 * different projects (and tests) apart on one Redis; every key slipway writes starts with it.
 */
import { UsageError } from '../util/usage-error.js';

export interface QueueAddress {
  host: string;
  port: number;
  db: number;
  password?: string;
  username?: string;
  /** Key prefix of every queue key (default "slipway"). */
  prefix: string;
  /** The URL without credentials, for messages. */
  display: string;
}

/** The BullMQ queue's name (below the prefix). */
export const QUEUE_NAME = 'tasks';

export function parseQueueAddress(url: string, where = '--queue'): QueueAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(
      `${where}: ${JSON.stringify(url)} is not a URL`,
      'write redis://HOST:PORT, e.g. redis://127.0.0.1:6379',
    );
  }
  if (u.protocol !== 'redis:')
    throw new UsageError(
      `${where}: ${JSON.stringify(url)} is not a redis:// URL`,
      'write redis://HOST:PORT, e.g. redis://127.0.0.1:6379',
    );
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0)
    throw new UsageError(
      `${where}: bad database number in ${JSON.stringify(url)}`,
      'write redis://HOST:PORT/DB with DB a number',
    );
  const prefix = u.searchParams.get('prefix') ?? 'slipway';
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix))
    throw new UsageError(`${where}: bad prefix ${JSON.stringify(prefix)}`, 'use letters, digits and _ . -');
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    db,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    prefix,
    display: `redis://${u.hostname}:${u.port || 6379}${db ? `/${db}` : ''}${prefix !== 'slipway' ? `?prefix=${prefix}` : ''}`,
  };
}

/** ioredis connection options; BullMQ wants maxRetriesPerRequest null on blocking connections. */
export function connectionOf(a: QueueAddress) {
  return {
    host: a.host,
    port: a.port,
    db: a.db,
    ...(a.password ? { password: a.password } : {}),
    ...(a.username ? { username: a.username } : {}),
    maxRetriesPerRequest: null,
  };
}

/** The key whose presence says the coordinator of `runId` is alive (heartbeat.ts). */
export function runAliveKey(a: QueueAddress, runId: string): string {
  return `${a.prefix}:run:${runId}:alive`;
}

/** The signing key, required on both sides: without it no job is signed or run. */
export function queueKey(env: NodeJS.ProcessEnv): string {
  const key = env.SLIPWAY_QUEUE_KEY;
  if (!key)
    throw new UsageError(
      'SLIPWAY_QUEUE_KEY is not set: scale-out jobs are signed with it, and workers run no unsigned job',
      "set the same secret in the coordinator's and every worker's environment, e.g. SLIPWAY_QUEUE_KEY=$(openssl rand -hex 32)",
    );
  return key;
}
