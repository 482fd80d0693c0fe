import type { Kysely } from 'kysely';

/**
 * No query reads task runs by task alone any more: history is read by run (the primary key) and
 * predictions by the partial index `task_runs_recent`. The full (task_id, started_at) index only
 * cost writes: every run touched one of its pages per task, ~450 pages for a 400-task run,
 * written to the WAL and again at checkpoint.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('task_runs_task').ifExists().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('task_runs_task').on('task_runs').columns(['task_id', 'started_at']).execute();
}
