/**
 * The coordinator's side of scale-out: a `TaskRunner` whose attempts are jobs on a BullMQ queue.
 * Each attempt becomes one signed job with a priority from the task's upward rank (the highest
 * rank is taken first by whichever worker is free) and its cpu/memory request; the worker's
 * output comes back as job progress and its outcome as the job's return value. Everything else
 * (graph, scheduler, cache lookups, history) stays with the executor, unchanged.
 */
import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { TaskHash } from '../cache/types.js';
import type { EventStream, RunEvent } from '../events.js';
import type { Attempt, RunRequest, TaskRunner } from '../exec/task-runner.js';
import { upwardRanks } from '../graph/critical-path.js';
import type { TaskGraph } from '../graph/graph.js';
import type { Prediction } from '../plan/predict.js';
import type { QueueSample } from '../store/queue-samples.js';
import { DispatchTrace } from './dispatch-trace.js';
import { RunHeartbeat } from './heartbeat.js';
import { type JobPayload, jobOutputSchema, jobResultSchema, signJob } from './job.js';
import { type MetricsServer, type ScaleMetrics, scaleMetrics, serveMetrics } from './metrics.js';
import { connectionOf, type QueueAddress, runAliveKey } from './queue-address.js';
import type { QueueConnection } from './queue-connection.js';
import { QueueSampler } from './queue-sampler.js';
import { WaveSender } from './wave.js';

/** Jobs per `addBulk` (one MULTI) when a wave is queued, and the first chunk's size (wave.ts). */
const BULK_CHUNK = 8;
/** How long the rest of a wave waits at most for its first chunk to be taken (wave.ts). */
const REST_DELAY_MS = 50;

/** A job on its way to Redis: signed only when its chunk is written (the first chunk first). */
interface OutgoingJob {
  jobId: string;
  priority: number;
  name: string;
  payload: JobPayload;
  /** The run's signal: a job whose run was stopped while it was held back is not written. */
  signal?: AbortSignal;
}

/** BullMQ's lowest priority; 1 is the highest. */
const MAX_PRIORITY = 2_097_152;

export interface QueueRunOptions {
  address: QueueAddress;
  /** SLIPWAY_QUEUE_KEY. */
  key: string;
  runId: string;
  commit: string;
  /** The pipeline file relative to the repository's top folder. */
  file: string;
  pipelineDigest: string;
  graph: TaskGraph;
  predictions: ReadonlyMap<string, Prediction>;
  /** The run's stream: finished tasks' hashes are read from it (dependencies to restore). */
  events: EventStream<RunEvent>;
  /** HOST:PORT to serve the coordinator's /metrics on while the run lasts. */
  metrics?: string;
  /** SLIPWAY_DISPATCH_TRACE: where to append each job's step times (dispatch-trace.ts). */
  trace?: string;
  /** Connections opened ahead (queue-connection.ts); the runner closes them. */
  connection: QueueConnection;
}

interface Waiter {
  resolve(r: unknown): void;
  reject(e: Error): void;
  output(data: unknown): void;
}

/** Connects to Redis within a short deadline; an unreachable queue is a value, not a crash. */
export async function probeRedis(address: QueueAddress, timeoutMs = 3000): Promise<string | undefined> {
  const r = new Redis({
    ...connectionOf(address),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    r.disconnect();
  }
}

export class QueueRunner implements TaskRunner {
  readonly #o: QueueRunOptions;
  readonly #queue: Queue;
  readonly #connection: QueueConnection;
  readonly #heartbeat: RunHeartbeat;
  readonly #priority: Map<string, number>;
  readonly #hashes = new Map<string, string>();
  readonly #waiters = new Map<string, Waiter>();
  /** Withdrawals of the jobs out now, by signal and job id, run when that signal aborts. */
  readonly #aborts = new WeakMap<AbortSignal, Map<string, () => void>>();
  readonly #unsubscribe: () => void;
  readonly #metrics: ScaleMetrics;
  #server: MetricsServer | undefined;
  #sampler: QueueSampler | undefined;
  readonly #trace: DispatchTrace | undefined;
  /** Redis' clock (redis-clock.ts): jobs are stamped with it. */
  readonly #clock: () => number;
  /** Waves of ready jobs on their way to Redis, best-ranked first (wave.ts). */
  readonly #wave: WaveSender<OutgoingJob>;

  private constructor(o: QueueRunOptions, hb: RunHeartbeat) {
    const { queue, events } = o.connection;
    this.#o = o;
    this.#metrics = scaleMetrics({ queue });
    this.#queue = queue;
    this.#connection = o.connection;
    this.#clock = o.connection.clock;
    this.#heartbeat = hb;
    this.#trace = o.trace ? new DispatchTrace(o.trace) : undefined;
    this.#wave = new WaveSender({
      chunk: BULK_CHUNK,
      restDelayMs: REST_DELAY_MS,
      add: async (jobs) => {
        const live = jobs.filter((j) => !j.signal?.aborted);
        if (!live.length) return;
        await this.#queue.addBulk(
          live.map((j) => ({
            name: j.name,
            data: signJob(o.key, j.payload),
            opts: {
              jobId: j.jobId,
              priority: j.priority,
              removeOnComplete: { age: 3600 },
              removeOnFail: { age: 24 * 3600 },
            },
          })),
        );
      },
    });
    // Priority 1 for the highest upward rank: the task with the longest path to the end goes first.
    const ranks = upwardRanks(o.graph, (id) => o.predictions.get(id)?.durationMs ?? 0);
    const order = [...ranks.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    this.#priority = new Map(order.map(([id], i) => [id, Math.min(MAX_PRIORITY, i + 1)]));
    this.#unsubscribe = o.events.subscribe((e) => {
      if (e.type === 'task-finished' && e.hash) this.#hashes.set(e.taskId, e.hash);
    });
    events.on('progress', ({ jobId, data }) => this.#waiters.get(jobId)?.output(data));
    events.on('active', ({ jobId }) => {
      this.#wave.taken(jobId);
      const w = this.#waiters.get(jobId);
      if (w) w.output({ active: true });
    });
    // Back from a worker (given back: it did not fit there; or stalled): it waits again.
    events.on('waiting', ({ jobId, prev }) => {
      if (prev === 'active' && this.#waiters.has(jobId)) this.#wave.requeued(jobId);
    });
    events.on('completed', ({ jobId, returnvalue }) => {
      this.#wave.taken(jobId);
      this.#waiters.get(jobId)?.resolve(returnvalue);
    });
    events.on('failed', ({ jobId, failedReason }) => {
      this.#wave.taken(jobId);
      this.#waiters.get(jobId)?.reject(new Error(failedReason || 'job failed'));
    });
  }

  /** Starts the run on open connections: its heartbeat, the queue's sampler, /metrics. */
  static async open(o: QueueRunOptions): Promise<QueueRunner> {
    const hb = await RunHeartbeat.start(o.connection.redis, runAliveKey(o.address, o.runId)).catch(
      async (e: unknown) => {
        await o.connection.close();
        throw e;
      },
    );
    const runner = new QueueRunner(o, hb);
    runner.#sampler = new QueueSampler(o.connection.queue);
    if (o.metrics) runner.#server = await serveMetrics(o.metrics, runner.#metrics);
    return runner;
  }

  async run(request: RunRequest): Promise<Attempt> {
    const o = this.#o;
    const started = performance.now();
    if (!request.hash) {
      // Without a cache key there is nothing a worker could restore or save: a bug in the caller.
      return {
        exitCode: null,
        durationMs: 0,
        cpuSeconds: 0,
        peakRssBytes: 0,
        failure: { reason: 'spawn-error', message: 'scale-out needs the cache (run without --no-cache)' },
      };
    }
    const p = o.predictions.get(request.taskId);
    const payload: JobPayload = {
      runId: o.runId,
      taskId: request.taskId,
      attempt: request.attempt ?? 1,
      commit: o.commit,
      file: o.file,
      pipelineDigest: o.pipelineDigest,
      hash: request.hash,
      deps: this.#depsOf(request.taskId, request.depHashes),
      cpu: p?.cpu ?? 1,
      memory: p?.memory ?? 0,
      queuedAt: this.#clock(),
    };
    const jobId = `${o.runId}-${createHash('sha1').update(request.taskId).digest('hex').slice(0, 16)}-${payload.attempt}`;
    const result = new Promise<unknown>((resolve, reject) => {
      this.#waiters.set(jobId, {
        resolve,
        reject,
        output: (data) => {
          if (data && typeof data === 'object' && 'active' in data) return;
          const chunk = jobOutputSchema.safeParse(data);
          if (chunk.success) request.onOutput(chunk.data.s, chunk.data.t);
        },
      });
    });
    const onAbort = () => {
      // A job nobody took yet is withdrawn; a running one stops when the heartbeat goes (close()).
      void this.#queue.remove(jobId).catch(() => {});
      this.#wave.taken(jobId);
      this.#waiters.get(jobId)?.resolve({ cancelled: true });
    };
    const forget = this.#onAbort(request.signal, jobId, onAbort);
    let added: number | undefined;
    try {
      await this.#wave.enqueue({
        jobId,
        priority: this.#priority.get(request.taskId) ?? MAX_PRIORITY,
        name: request.taskId,
        payload,
        ...(request.signal ? { signal: request.signal } : {}),
      });
      added = this.#clock();
      if (request.signal?.aborted) onAbort();
      const raw = await result;
      const reported = this.#clock();
      if (raw && typeof raw === 'object' && 'cancelled' in raw)
        return {
          exitCode: null,
          durationMs: performance.now() - started,
          cpuSeconds: 0,
          peakRssBytes: 0,
          failure: { reason: 'cancelled' },
        };
      const r = jobResultSchema.parse(raw);
      this.#trace?.write({
        taskId: request.taskId,
        attempt: payload.attempt,
        worker: r.worker,
        queued: payload.queuedAt,
        added,
        ...(r.stages ? { stages: r.stages } : {}),
        reported,
      });
      const label = { task: request.taskId };
      if (r.failure) this.#metrics.failed.inc({ ...label, reason: r.failure.reason });
      else {
        this.#metrics.finished.inc(label);
        this.#metrics.duration.observe(label, r.durationMs / 1000);
      }
      return {
        exitCode: r.exitCode,
        durationMs: r.durationMs,
        cpuSeconds: r.cpuSeconds,
        peakRssBytes: r.peakRssBytes,
        worker: r.worker,
        saved: !r.failure,
        ...(r.failure ? { failure: r.failure } : {}),
      };
    } catch (e) {
      return {
        exitCode: null,
        durationMs: performance.now() - started,
        cpuSeconds: 0,
        peakRssBytes: 0,
        failure: { reason: 'spawn-error', message: `queue: ${e instanceof Error ? e.message : String(e)}` },
      };
    } finally {
      forget();
      this.#waiters.delete(jobId);
    }
  }

  /**
   * Calls `withdraw` when `signal` aborts while the job is out. Every job of a run shares the run's
   * signal: one listener serves them all (one each would pass the signal's listener limit at the
   * eleventh job and print Node's leak warning).
   */
  #onAbort(signal: AbortSignal | undefined, jobId: string, withdraw: () => void): () => void {
    if (!signal) return () => {};
    let jobs = this.#aborts.get(signal);
    if (!jobs) {
      const out = new Map<string, () => void>();
      signal.addEventListener(
        'abort',
        () => {
          for (const w of [...out.values()]) w();
        },
        { once: true },
      );
      this.#aborts.set(signal, out);
      jobs = out;
    }
    jobs.set(jobId, withdraw);
    return () => jobs.delete(jobId);
  }

  /** Cache keys of every task `taskId` depends on, directly or not, that finished in this run. */
  #depsOf(taskId: string, direct?: ReadonlyMap<string, TaskHash>): Record<string, string> {
    const out: Record<string, string> = {};
    const seen = new Set<string>();
    const stack = [...this.#o.graph.deps(taskId)];
    while (stack.length) {
      const d = stack.pop()!;
      if (seen.has(d)) continue;
      seen.add(d);
      const h = direct?.get(d) ?? this.#hashes.get(d);
      if (h) out[d] = h;
      stack.push(...this.#o.graph.deps(d));
    }
    return out;
  }

  /** The queue's length while the run lasted (complete once `close()` resolved). */
  get queueSamples(): readonly QueueSample[] {
    return this.#sampler?.samples ?? [];
  }

  /** Ends the heartbeat (workers stop what is left of this run) and closes the connections. */
  async close(): Promise<void> {
    this.#unsubscribe();
    await this.#sampler?.stop();
    await this.#heartbeat.stop();
    await Promise.allSettled([this.#connection.close(), this.#server?.close(), this.#trace?.close()]);
  }
}
