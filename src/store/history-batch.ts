/**
 * The one write path to runs and task runs, per backend: `HistoryWrites`. SQLite writes through
 * prepared statements (sqlite-history.ts: a third of the time for a 400-task run); PostgreSQL
 * through Kysely (here). Nothing else writes these two tables.
 */
import type { Kysely } from 'kysely';
import type { Database, RunsTable, TaskRunsTable } from './schema.js';

/** One coalesced history write (what `attachStoreWriter` collected in one window). */
export interface HistoryBatch {
  newRuns: RunsTable[];
  changedRuns: RunsTable[];
  taskRuns: TaskRunsTable[];
}

export interface HistoryWrites {
  /** Writes new runs, changed runs and task rows to upsert, in one transaction. */
  write(batch: HistoryBatch): Promise<void>;
  /** Marks runs still `running` as `interrupted`, with their unfinished task runs, in one transaction. */
  interrupt(runIds: readonly string[]): Promise<void>;
}

/** The task_runs columns a later event may change; an upsert updates exactly these. */
export const TASK_RUN_UPDATES = [
  'status',
  'cache',
  'hash',
  'started_at',
  'ended_at',
  'duration_ms',
  'predicted_ms',
  'exit_code',
  'cpu_seconds',
  'peak_rss_bytes',
  'attempts',
  'reason',
  'failure',
  'saved_ms',
  'io_read_bytes',
  'io_write_bytes',
  'io_read_ops',
  'io_write_ops',
  'io_read_chars',
  'io_write_chars',
] as const;

/** A run's task runs that had not ended when its process died. */
export const UNFINISHED: readonly TaskRunsTable['status'][] = ['pending', 'running'];

const ROWS_PER_STATEMENT = 200;

/** History writes through Kysely: multi-row upserts, one update per changed run (PostgreSQL). */
export function kyselyHistoryWrites(db: Kysely<Database>): HistoryWrites {
  return {
    write: ({ newRuns, changedRuns, taskRuns }) =>
      db.transaction().execute(async (tx) => {
        if (newRuns.length) await tx.insertInto('runs').values(newRuns).execute();
        for (const r of changedRuns) {
          const { id, ...rest } = r;
          await tx.updateTable('runs').set(rest).where('id', '=', id).execute();
        }
        for (let i = 0; i < taskRuns.length; i += ROWS_PER_STATEMENT) {
          await tx
            .insertInto('task_runs')
            .values(taskRuns.slice(i, i + ROWS_PER_STATEMENT))
            .onConflict((oc) =>
              oc
                .columns(['run_id', 'task_id'])
                .doUpdateSet((eb) =>
                  Object.fromEntries(TASK_RUN_UPDATES.map((c) => [c, eb.ref(`excluded.${c}`)])),
                ),
            )
            .execute();
        }
      }),
    interrupt: (runIds) =>
      db.transaction().execute(async (tx) => {
        await tx
          .updateTable('runs')
          .set({ status: 'interrupted' })
          .where('id', 'in', runIds)
          .where('status', '=', 'running')
          .execute();
        await tx
          .updateTable('task_runs')
          .set({ status: 'interrupted' })
          .where('run_id', 'in', runIds)
          .where('status', 'in', UNFINISHED)
          .execute();
      }),
  };
}
