/**
 * `slipway worker`: takes jobs from the queue, as many at once as it has slots, each when its cpu
 * and memory fit (resource-pool.ts), runs them (run-job.ts) and returns their results. BullMQ's
 * lock on a taken job expires when the worker dies; another worker's stalled-job check puts the
 * job back on the queue, and it runs again there.
 */
import os from 'node:os';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { GroupGuard, reapOrphans } from '../exec/process-guard.js';
import { LocalRunner } from '../exec/runner.js';
import { processRecordDir } from '../state/paths.js';
import { HEARTBEAT_REFRESH_MS } from './heartbeat.js';
import { type JobResult, jobPayloadSchema } from './job.js';
import { type MetricsServer, scaleMetrics, serveMetrics } from './metrics.js';
import { connectionOf, QUEUE_NAME, type QueueAddress, runAliveKey } from './queue-address.js';
import { redisClock } from './redis-clock.js';
import { ResourcePool } from './resource-pool.js';
import { runJob } from './run-job.js';
import { Worktrees } from './worktree.js';

/** Lock on a running job: renewed every half; a dead worker's job is free again after this. */
const LOCK_MS = 10_000;
const STALLED_CHECK_MS = 5_000;
/** How often a running job checks that its run's coordinator is alive. */
const ALIVE_CHECK_MS = 1_000;
/** Taken off a heartbeat key's time to live: the clocks of Redis and this worker may drift. */
const LEASE_MARGIN_MS = 250;

export interface WorkerOptions {
  address: QueueAddress;
  key: string;
  /** The top folder of the worker's clone of the repository. */
  repo: string;
  name?: string;
  slots: number;
  cpu?: number;
  memory?: number;
  env: NodeJS.ProcessEnv;
  /** HOST:PORT for /metrics, /healthz, /readyz. */
  metrics?: string;
  log(line: string): void;
}

export interface RunningWorker {
  name: string;
  metricsUrl?: string;
  /** Stops taking jobs and waits for the running ones; `force` stops their commands too. */
  close(force?: boolean): Promise<void>;
}

export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const name = o.name ?? `${os.hostname()}:${process.pid}`;
  const connection = connectionOf(o.address);
  const redis = new Redis(connection);
  redis.on('error', () => {});
  const procs = processRecordDir(o.repo);
  const reaped = await reapOrphans(procs);
  if (reaped.length) o.log(`stopped ${reaped.length} task process group(s) left by a worker that died`);
  const guard = new GroupGuard(procs);
  const runner = new LocalRunner({ guard });
  const worktrees = new Worktrees(o.repo);
  const pool = new ResourcePool(o.cpu ?? o.slots, o.memory ?? os.totalmem());
  const stopping = new AbortController();
  let busy = 0;
  // The shared queue's gauges, read at scrape time (metrics.ts).
  const queue = new Queue(QUEUE_NAME, { connection, prefix: o.address.prefix });
  queue.on('error', () => {});
  const m = scaleMetrics({ queue, busySlots: () => busy });
  const clock = await redisClock(redis).catch(() => Date.now);
  // A run's heartbeat key, once read with its time to live, is known to exist until then (only its
  // coordinator's normal end deletes it early): a job starts without a round trip while that
  // holds, or when it was queued within the last heartbeat period (its coordinator was alive
  // then, which the key's existence would say no more strongly). The running jobs' watch reads
  // the key afresh.
  const leases = new Map<string, number>();
  const readAlive = async (runId: string) => {
    const ttl = await redis.pttl(runAliveKey(o.address, runId)).catch(() => LEASE_MARGIN_MS);
    if (ttl === -2) {
      leases.delete(runId);
      return false;
    }
    leases.set(runId, Date.now() + ttl - LEASE_MARGIN_MS);
    return true;
  };
  const alive = async (runId: string, queuedAt?: number) => {
    if (queuedAt !== undefined && clock() - queuedAt < HEARTBEAT_REFRESH_MS) return true;
    const until = leases.get(runId);
    if (until !== undefined && Date.now() < until) return true;
    return readAlive(runId);
  };

  const worker = new Worker(
    QUEUE_NAME,
    async (job): Promise<JobResult> => {
      busy++;
      const abort = new AbortController();
      const onStop = () => abort.abort();
      stopping.signal.addEventListener('abort', onStop, { once: true });
      const runId = jobPayloadSchema.shape.runId.safeParse(
        (job.data as { payload?: { runId?: unknown } })?.payload?.runId,
      );
      // The coordinator gone: stop the command within a second or so.
      const watch = setInterval(() => {
        if (runId.success) void readAlive(runId.data).then((ok) => ok || abort.abort());
      }, ALIVE_CHECK_MS);
      const label = { task: job.name };
      try {
        const r = await runJob(
          {
            worker: name,
            key: o.key,
            worktrees,
            runner,
            env: o.env,
            alive,
            acquire: (cpu, memory) => pool.acquire(cpu, memory),
            warn: (msg) => o.log(`warning: ${msg}`),
          },
          {
            data: job.data,
            signal: abort.signal,
            output: (s, t) => void job.updateProgress({ s, t }).catch(() => {}),
            started: (p) => o.log(`${p.taskId} (run ${p.runId}) started`),
          },
        );
        if (r.failure) {
          // A refused job's name is unverified input: it does not become a label value.
          const task = r.failure.reason === 'job-refused' ? '-' : job.name;
          m.failed.inc({ task, reason: r.failure.reason });
          o.log(`${job.name}: ${r.failure.reason}${'why' in r.failure ? `: ${r.failure.why}` : ''}`);
        } else {
          m.finished.inc(label);
          m.duration.observe(label, r.durationMs / 1000);
          o.log(`${job.name} done in ${Math.round(r.durationMs)} ms`);
        }
        return r;
      } finally {
        clearInterval(watch);
        stopping.signal.removeEventListener('abort', onStop);
        busy--;
      }
    },
    {
      connection,
      prefix: o.address.prefix,
      concurrency: o.slots,
      lockDuration: LOCK_MS,
      stalledInterval: STALLED_CHECK_MS,
      maxStalledCount: 3,
      autorun: false,
    },
  );
  worker.on('error', (e) => o.log(`queue error: ${e.message}`));
  let ready = false;
  let server: MetricsServer | undefined;
  if (o.metrics) server = await serveMetrics(o.metrics, m, () => ready);
  await worker.waitUntilReady();
  void worker.run();
  ready = true;
  o.log(
    `worker ${name} ready: ${o.slots} slot(s), queue ${o.address.display}${server ? `, metrics ${server.url}/metrics` : ''}`,
  );
  return {
    name,
    ...(server ? { metricsUrl: server.url } : {}),
    async close(force = false) {
      ready = false;
      if (force) stopping.abort();
      await worker.close();
      await server?.close();
      await queue.close();
      guard.close();
      redis.disconnect();
    },
  };
}
