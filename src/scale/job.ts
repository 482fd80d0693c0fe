/**
 * A scale-out job: what the coordinator puts on the queue for one attempt of one task, and what a
 * worker sends back. No command text and no environment travel: the worker reads the task from
 * the pipeline file at the job's commit and takes secrets from its own environment. The payload
 * is signed (HMAC-SHA256 with SLIPWAY_QUEUE_KEY) so that write access to Redis is not a way to run
 * commands on the workers; a worker validates it with zod and checks the signature first.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';

const hex = z.string().regex(/^[0-9a-f]+$/);

export const jobPayloadSchema = z.strictObject({
  runId: z.string().min(1).max(100),
  taskId: z.string().min(1).max(500),
  attempt: z.number().int().positive(),
  /** The coordinator's HEAD: the worker builds exactly this commit. */
  commit: hex.length(40),
  /** The pipeline file, relative to the repository's top folder. */
  file: z.string().min(1).max(1000),
  /** pipelineDigest() of the coordinator's pipeline: the same tasks, commands and settings. */
  pipelineDigest: hex.length(64),
  /** The task's cache key as the coordinator computed it; the worker must compute the same. */
  hash: z.string().min(1).max(200),
  /** Cache keys of the task's dependencies (all of them, transitively): whose outputs to restore. */
  deps: z.record(z.string(), z.string().min(1).max(200)),
  cpu: z.number().positive(),
  memory: z.number().nonnegative(),
  /** When it was queued, on Redis' clock (redis-clock.ts), ms: how fresh the job is. */
  queuedAt: z.number(),
});
export type JobPayload = z.output<typeof jobPayloadSchema>;

const signedJobSchema = z.strictObject({ payload: jobPayloadSchema, sig: hex.length(64) });
type SignedJob = z.output<typeof signedJobSchema>;

/** Canonical JSON: keys sorted at every level, so both sides sign the same bytes. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** HMAC-SHA256 of a value's canonical JSON with SLIPWAY_QUEUE_KEY: jobs and run announcements. */
export function mac(key: string, payload: unknown): string {
  return createHmac('sha256', key).update(canonical(payload)).digest('hex');
}

/** Whether `sig` (hex) is `payload`'s MAC under `key`, compared in constant time. */
export function macMatches(key: string, payload: unknown, sig: string): boolean {
  const expected = Buffer.from(mac(key, payload), 'hex');
  const got = Buffer.from(sig, 'hex');
  return expected.length === got.length && timingSafeEqual(expected, got);
}

export function signJob(key: string, payload: JobPayload): SignedJob {
  return { payload, sig: mac(key, payload) };
}

export type VerifiedJob = { ok: true; payload: JobPayload } | { ok: false; why: string };

/** Validates and checks the signature of job data read from Redis (untrusted input). */
export function verifyJob(key: string, data: unknown): VerifiedJob {
  const parsed = signedJobSchema.safeParse(data);
  if (!parsed.success)
    return { ok: false, why: `malformed or unsigned job (${parsed.error.issues[0]?.message})` };
  if (!macMatches(key, parsed.data.payload, parsed.data.sig))
    return { ok: false, why: "bad signature (not signed with this worker's SLIPWAY_QUEUE_KEY)" };
  return { ok: true, payload: parsed.data.payload };
}

/**
 * When each step of a job happened on its worker, ms on Redis' clock (redis-clock.ts), so the
 * coordinator's and the workers' times compare: where dispatch and hand-back time goes.
 */
const jobStagesSchema = z.strictObject({
  /** Taken off the queue. */
  taken: z.number(),
  /** Signature, commit, pipeline digest, cache keys, restores and the run's heartbeat checked. */
  checked: z.number().optional(),
  /** The command's process started. */
  spawned: z.number().optional(),
  /** The command ended (the worker's slot is free). */
  exited: z.number().optional(),
  /** Outputs saved: the result is sent. */
  done: z.number(),
  /**
   * Of the way from the worker's call for a job (idle: its wake-up) to `spawned`, the ms its
   * process was ready but waiting for a CPU (cpu-wait.ts); absent where unknown.
   */
  cpuWait: z.number().optional(),
});
export type JobStages = z.output<typeof jobStagesSchema>;

/** How a job ended, as the worker reports it (the processor's return value). */
export const jobResultSchema = z.strictObject({
  worker: z.string(),
  exitCode: z.number().int().nullable(),
  durationMs: z.number(),
  cpuSeconds: z.number(),
  peakRssBytes: z.number(),
  /** When the worker took the job (worker's clock, ms). */
  startedAt: z.number(),
  stages: jobStagesSchema.optional(),
  failure: z
    .discriminatedUnion('reason', [
      z.strictObject({ reason: z.literal('exit-non-zero'), code: z.number().int() }),
      z.strictObject({ reason: z.literal('signal'), signal: z.string() }),
      z.strictObject({ reason: z.literal('timeout'), ms: z.number() }),
      z.strictObject({ reason: z.literal('spawn-error'), message: z.string() }),
      z.strictObject({ reason: z.literal('cancelled') }),
      z.strictObject({ reason: z.literal('commit-missing'), commit: z.string(), worker: z.string() }),
      z.strictObject({ reason: z.literal('job-refused'), why: z.string(), worker: z.string() }),
    ])
    .optional(),
});
export type JobResult = z.output<typeof jobResultSchema>;

/** One chunk of task output, streamed as job progress. */
export const jobOutputSchema = z.strictObject({ s: z.enum(['stdout', 'stderr']), t: z.string() });
