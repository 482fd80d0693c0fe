import { type Kysely, sql } from 'kysely';

/**
 * Predictions read each task's last uncached successful executions. A partial index holding only
 * those rows (with the columns predictions need) answers that with a few index entries per task,
 * however many cache hits the history has piled up.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX task_runs_recent ON task_runs (task_id, started_at, duration_ms, cpu_seconds, peak_rss_bytes) WHERE status = 'success' AND cache IN ('miss', 'disabled')`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX task_runs_recent`.execute(db);
}
