/**
 * One coalesced history write (what `attachStoreWriter` collected in one window): new runs,
 * changed runs and task rows to upsert. Each store writes it in one transaction, in its own
 * fastest way; this file holds the portable Kysely way, which PostgreSQL uses.
 */
import type { Kysely } from 'kysely';
import type { Database, RunsTable, TaskRunsTable } from './schema.js';

export interface HistoryBatch {
  newRuns: RunsTable[];
  changedRuns: RunsTable[];
  taskRuns: TaskRunsTable[];
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

const ROWS_PER_STATEMENT = 200;

/** Writes a batch through Kysely: multi-row inserts, one update per changed run. */
export async function writeHistoryBatch(db: Kysely<Database>, batch: HistoryBatch): Promise<void> {
  const { newRuns, changedRuns, taskRuns } = batch;
  await db.transaction().execute(async (tx) => {
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
  });
}
