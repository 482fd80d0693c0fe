/**
 * `slipway worker`: whenever one of its slots is free, takes the highest-priority job that fits
 * its free cpu and memory (job-picker.ts skips past jobs that do not), runs it (run-job.ts) and
 * returns its result. A slot frees when the command ends, so the next job starts while the
 * previous one's outputs are still uploading; that job's success reaches the coordinator only
 * after the upload. Jobs are taken and completed by hand (BullMQ's manual processing), each
 * taken job's lock renewed while it runs: when the worker dies the lock expires, another
 * worker's stalled-job check puts the job back on the queue, and it runs again there.
 */
import { setMaxListeners } from 'node:events';
import os from 'node:os';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { GroupGuard, reapOrphans } from '../exec/process-guard.js';
import { LocalRunner } from '../exec/runner.js';
import { processRecordDir } from '../state/paths.js';
import { announceChannel, readAnnouncement } from './announce.js';
import { cpuWaitMs } from './cpu-wait.js';
import { HEARTBEAT_REFRESH_MS } from './heartbeat.js';
import { jobPayloadSchema } from './job.js';
import { pickFitting } from './job-picker.js';
import { type MetricsServer, scaleMetrics, serveMetrics } from './metrics.js';
import { connectionOf, QUEUE_NAME, type QueueAddress, runAliveKey } from './queue-address.js';
import { redisClock } from './redis-clock.js';
import { type Request, ResourcePool } from './resource-pool.js';
import { prepareCommit, runJob } from './run-job.js';
import { Worktrees } from './worktree.js';

/**
 * Lock on a running job (`--lock-duration`): renewed every half; a dead worker's job is free again
 * after this, found by another worker's stalled-job check, which runs every half too.
 */
const DEFAULT_LOCK_MS = 10_000;
/** Below this a renewal's round trip on a loaded machine may come too late: live jobs would stall. */
export const MIN_LOCK_MS = 1_000;
/** How soon a worker with no fitting job looks again, if no slot frees first. */
const NO_FIT_RETRY_MS = 250;
/** How often a running job checks that its run's coordinator is alive. */
const ALIVE_CHECK_MS = 1_000;
/** Taken off a heartbeat key's time to live: the clocks of Redis and this worker may drift. */
const LEASE_MARGIN_MS = 250;

/**
 * A freed slot's turn: an upload waits (`next`) until the worker started its next command, found
 * nothing to start, or a second passed, so the next command never queues behind an upload.
 */
class Baton {
  #waiting: (() => void)[] = [];

  next(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 1000);
      this.#waiting.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  pass(): void {
    for (const go of this.#waiting.splice(0)) go();
  }
}

interface Taken {
  job: Job;
  /** The lock token it was taken with. */
  token: string;
  /** When (Redis' clock). */
  at: number;
  /** cpuWaitMs() as the worker asked for it (cpu-wait.ts). */
  cpuWaitBefore: number | undefined;
}

/**
 * What a job asks for, read before its signature is checked (runJob checks it): used only to
 * choose which job to take; a forged request buys a refusal, not a run.
 */
function requestOf(job: Job): Request {
  const p = (job.data as { payload?: { cpu?: unknown; memory?: unknown } } | undefined)?.payload;
  return {
    cpu: typeof p?.cpu === 'number' && p.cpu > 0 ? p.cpu : 1,
    memory: typeof p?.memory === 'number' && p.memory >= 0 ? p.memory : 0,
  };
}

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
  /** How long a taken job stays locked without renewal (default DEFAULT_LOCK_MS). */
  lockMs?: number;
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
  const lockMs = Math.max(MIN_LOCK_MS, o.lockMs ?? DEFAULT_LOCK_MS);
  const connection = connectionOf(o.address);
  // A plain copy, made once: each job's environment is spread from it on its way to the command,
  // and spreading process.env itself reads each variable through Node's accessor (~0.1 ms).
  const env = { ...o.env };
  const redis = new Redis(connection);
  redis.on('error', () => {});
  const procs = processRecordDir(o.repo);
  const reaped = await reapOrphans(procs);
  if (reaped.length) o.log(`stopped ${reaped.length} task process group(s) left by a worker that died`);
  const guard = new GroupGuard(procs);
  // Spare task shells: a job's command starts without forking this process on its way.
  const runner = new LocalRunner({ guard, spares: true });
  const worktrees = new Worktrees(o.repo);
  const pool = new ResourcePool(o.slots, o.cpu ?? o.slots, o.memory ?? os.totalmem());
  const stopping = new AbortController();
  // One listener per job in flight, running or still saving its outputs: more than Node's default
  // of ten when short jobs follow each other, which is no leak.
  setMaxListeners(0, stopping.signal);
  // The shared queue's gauges, read at scrape time (metrics.ts).
  const queue = new Queue(QUEUE_NAME, { connection, prefix: o.address.prefix });
  queue.on('error', () => {});
  const m = scaleMetrics({ queue, busySlots: () => pool.busySlots });
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
    const now = Date.now();
    for (const [run, until] of leases) if (until < now) leases.delete(run); // runs long over
    leases.set(runId, now + ttl - LEASE_MARGIN_MS);
    return true;
  };
  const alive = async (runId: string, queuedAt?: number) => {
    if (queuedAt !== undefined && clock() - queuedAt < HEARTBEAT_REFRESH_MS) return true;
    const until = leases.get(runId);
    if (until !== undefined && Date.now() < until) return true;
    return readAlive(runId);
  };

  // Runs announced by their coordinators (announce.ts): their commit is checked out and opened
  // before their first job arrives.
  const announcements = redis.duplicate();
  announcements.on('error', () => {});
  announcements.on('message', (_channel: string, message: string) => {
    const a = readAnnouncement(o.key, message);
    if (!a.ok) {
      o.log(`ignored a run announcement: ${a.why}`);
      return;
    }
    const { commit, file } = a.announce;
    const t0 = performance.now();
    void prepareCommit({ worktrees, env, warn: (msg) => o.log(`warning: ${msg}`) }, commit, file).then(
      (why) => {
        o.log(
          why
            ? `could not prepare commit ${commit} of an announced run: ${why}`
            : `commit ${commit} prepared for an announced run (${Math.round(performance.now() - t0)} ms)`,
        );
        restartCpuWait();
      },
    );
  });
  await announcements.subscribe(announceChannel(o.address));

  const worker = new Worker(QUEUE_NAME, null, {
    connection,
    prefix: o.address.prefix,
    lockDuration: lockMs,
    stalledInterval: lockMs / 2,
    maxStalledCount: 3,
    autorun: false,
  });
  worker.on('error', (e) => o.log(`queue error: ${e.message}`));
  const handedOn = new Baton();
  /** The loop waits for a job to be queued: nothing for an upload to wait for. */
  let idle = false;
  let tokens = 0;
  /**
   * The blocked call for a job, while there is one: the work this worker does meanwhile (a
   * finished job's upload, preparing an announced commit) moves its CPU-wait baseline past it.
   */
  let blocked: { cpuWaitBefore: number | undefined } | undefined;
  const restartCpuWait = () => {
    if (blocked) blocked.cpuWaitBefore = cpuWaitMs();
  };
  const fetch = async (block: boolean): Promise<Taken | undefined> => {
    const token = `${worker.id}:${tokens++}`;
    // Waiting blocked for a job adds nothing to it: what it gains until the command starts is the
    // wake-up's and the job's wait for a CPU.
    const call = { cpuWaitBefore: cpuWaitMs() };
    if (block) blocked = call;
    const job = await worker.getNextJob(token, { block }).finally(() => {
      if (blocked === call) blocked = undefined;
    });
    return job ? { job, token, at: clock(), cpuWaitBefore: call.cpuWaitBefore } : undefined;
  };
  // Back at its priority; changePriority also wakes the workers blocked waiting for a job.
  const giveBack = async (jobs: Taken[]) => {
    for (const { job, token } of jobs)
      await job
        .moveToWait(token)
        .then(() => job.changePriority({ priority: job.opts.priority ?? 0 }))
        .catch((e: unknown) =>
          o.log(
            `could not return job ${job.name} to the queue (${String(e)}): it is retried once its lock expires`,
          ),
        );
  };

  /** One taken job from start to its result in Redis; `release` frees its slot (once). */
  const processJob = async ({ job, token, at, cpuWaitBefore }: Taken, release: () => void): Promise<void> => {
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
    // The lock on a taken job says this worker is alive; a dead worker's job is stalled and taken
    // again elsewhere once it expires.
    const lock = setInterval(() => void job.extendLock(token, lockMs).catch(() => {}), lockMs / 2);
    const label = { task: job.name };
    try {
      const r = await runJob(
        {
          worker: name,
          key: o.key,
          worktrees,
          runner,
          env,
          alive,
          now: clock,
          warn: (msg) => o.log(`warning: ${msg}`),
        },
        {
          data: job.data,
          takenAt: at,
          ...(cpuWaitBefore !== undefined ? { cpuWaitBefore } : {}),
          signal: abort.signal,
          output: (s, t) => void job.updateProgress({ s, t }).catch(() => {}),
          started: (p) => {
            o.log(`${p.taskId} (run ${p.runId}) started`);
            handedOn.pass();
          },
          ran: (ms) => {
            // No command ran (a refused job): nothing to upload.
            if (ms === undefined) {
              release();
              return undefined;
            }
            // The next command goes first; the upload runs while it does (or at once, when
            // nothing is waiting), never before.
            const turn = idle ? undefined : handedOn.next();
            release();
            o.log(`${job.name} done in ${Math.round(ms)} ms`);
            return turn;
          },
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
      }
      await job.moveToCompleted(r, token, false);
    } catch (e) {
      await job.moveToFailed(e instanceof Error ? e : new Error(String(e)), token, false).catch(() => {});
    } finally {
      clearInterval(watch);
      clearInterval(lock);
      stopping.signal.removeEventListener('abort', onStop);
      release();
      handedOn.pass();
      restartCpuWait();
    }
  };

  // Taking jobs: whenever a slot is free, the highest-priority job that fits (job-picker.ts).
  let closing = false;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((r) => {
    wake = r;
  });
  const pause = (ms: number) =>
    Promise.race([pool.released(), stopped, new Promise<void>((r) => setTimeout(r, ms).unref())]);
  const running = new Set<Promise<void>>();
  const takeJobs = async () => {
    while (!closing) {
      if (!pool.slotFree) {
        await Promise.race([pool.released(), stopped]);
        continue;
      }
      let first: Taken | undefined;
      try {
        // Without waiting first: an empty queue lets the uploads of finished jobs go ahead.
        first = await fetch(false);
        if (!first) {
          handedOn.pass();
          idle = true;
          first = await fetch(true).finally(() => {
            idle = false;
          });
        }
      } catch (e) {
        if (!closing) o.log(`queue error: ${String(e)}`);
        await pause(1000);
        continue;
      }
      if (!first) continue;
      if (closing) {
        await giveBack([first]);
        break;
      }
      const picked = await pickFitting(first, {
        next: () => fetch(false).catch(() => undefined),
        giveBack,
        request: (t) => requestOf(t.job),
        fits: (r) => pool.fits(r),
      });
      // Nothing that waits fits beside what runs: look again when a slot frees (or a bit later,
      // for smaller jobs queued meanwhile).
      if (!picked) {
        handedOn.pass();
        await pause(NO_FIT_RETRY_MS);
        continue;
      }
      const release = pool.take(requestOf(picked.job))!;
      const p = processJob(picked, release).finally(() => running.delete(p));
      running.add(p);
    }
  };

  let ready = false;
  let server: MetricsServer | undefined;
  if (o.metrics) server = await serveMetrics(o.metrics, m, () => ready);
  await worker.waitUntilReady();
  void worker.startStalledCheckTimer();
  const loop = takeJobs();
  ready = true;
  o.log(
    `worker ${name} ready: ${o.slots} slot(s), queue ${o.address.display}${server ? `, metrics ${server.url}/metrics` : ''}`,
  );
  return {
    name,
    ...(server ? { metricsUrl: server.url } : {}),
    async close(force = false) {
      ready = false;
      closing = true;
      wake();
      if (force) stopping.abort();
      while (running.size) await Promise.allSettled([...running]);
      await worker.close();
      await loop;
      await server?.close();
      await queue.close();
      announcements.disconnect();
      runner.close();
      guard.close();
      redis.disconnect();
    },
  };
}
