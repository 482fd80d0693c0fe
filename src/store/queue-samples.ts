/**
 * The scale-out queue's length over time (migration 100): written by the coordinator of a
 * `--queue` run, read back by `slipway report` to replay it through the HPA (scale/hpa-replay.ts).
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface QueueSamplesTable {
  run_id: string;
  at: number;
  /** Jobs waiting for a worker (BullMQ's waiting and prioritized: the HPA's metric). */
  waiting: number;
  /** Jobs a worker was running. */
  active: number;
}

declare module './schema.js' {
  interface Database {
    queue_samples: QueueSamplesTable;
  }
}

/** One sample of the queue as a coordinator saw it. */
export interface QueueSample {
  at: number;
  waiting: number;
  active: number;
}

export interface QueueSampleQueries {
  /** Records a run's samples (a sample already recorded for the same run and time is ignored). */
  insert(runId: string, samples: readonly QueueSample[]): Promise<void>;
  /** The samples of a pipeline's runs, oldest first, optionally since a time. */
  ofPipeline(pipeline: string, since?: number): Promise<(QueueSample & { runId: string })[]>;
}

/** Rows per INSERT: well under SQLite's 32766 bound variables at 4 per row. */
const BATCH = 500;

export function queueSampleQueries(db: Kysely<Database>): QueueSampleQueries {
  return {
    insert: async (runId, samples) => {
      for (let i = 0; i < samples.length; i += BATCH)
        await db
          .insertInto('queue_samples')
          .values(samples.slice(i, i + BATCH).map((s) => ({ run_id: runId, ...s })))
          .onConflict((oc) => oc.columns(['run_id', 'at']).doNothing())
          .execute();
    },
    ofPipeline: async (pipeline, since) => {
      let q = db
        .selectFrom('queue_samples')
        .innerJoin('runs', 'runs.id', 'queue_samples.run_id')
        .select([
          'queue_samples.run_id as runId',
          'queue_samples.at as at',
          'queue_samples.waiting as waiting',
          'queue_samples.active as active',
        ])
        .where('runs.pipeline', '=', pipeline);
      if (since !== undefined) q = q.where('queue_samples.at', '>=', since);
      const rows = await q.orderBy('queue_samples.at').orderBy('queue_samples.run_id').execute();
      // PostgreSQL returns bigint as a string.
      return rows.map((r) => ({
        runId: r.runId,
        at: Number(r.at),
        waiting: Number(r.waiting),
        active: Number(r.active),
      }));
    },
  };
}
