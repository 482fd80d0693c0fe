/** Queries over runs and task runs, shared by SQLite and PostgreSQL. */
import { type Kysely, sql } from 'kysely';
import type { Database, RunsTable, TaskRunsTable } from './schema.js';

export type RunRow = RunsTable;
export type TaskRunRow = TaskRunsTable;

/** Runs, newest first. */
export async function listRuns(
  db: Kysely<Database>,
  opts: { pipeline?: string; since?: number; limit?: number } = {},
): Promise<RunRow[]> {
  let q = db.selectFrom('runs').selectAll();
  if (opts.pipeline !== undefined) q = q.where('pipeline', '=', opts.pipeline);
  if (opts.since !== undefined) q = q.where('started_at', '>=', opts.since);
  return q
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(opts.limit ?? 1_000_000)
    .execute();
}

export async function getRun(db: Kysely<Database>, id: string): Promise<RunRow | undefined> {
  return db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function taskRuns(db: Kysely<Database>, runId: string): Promise<TaskRunRow[]> {
  return db.selectFrom('task_runs').selectAll().where('run_id', '=', runId).orderBy('started_at').execute();
}

/** What predictions need of a past execution. */
export type RecentExecution = Pick<
  TaskRunRow,
  'task_id' | 'started_at' | 'duration_ms' | 'cpu_seconds' | 'peak_rss_bytes'
>;

/**
 * Recent uncached successful executions of tasks (newest first), at most `perTask` each; for
 * predictions. A window function keeps the answer (and the work) at `perTask` rows per task
 * however long the history grows.
 */
export async function recentExecutions(
  db: Kysely<Database>,
  taskIds: readonly string[],
  perTask = 20,
): Promise<Map<string, RecentExecution[]>> {
  const out = new Map<string, RecentExecution[]>();
  for (let i = 0; i < taskIds.length; i += 500) {
    const ids = taskIds.slice(i, i + 500);
    const { rows } = await sql<RecentExecution & { n: number }>`
      select task_id, started_at, duration_ms, cpu_seconds, peak_rss_bytes from (
        select task_id, started_at, duration_ms, cpu_seconds, peak_rss_bytes,
          row_number() over (partition by task_id order by started_at desc) as n
        from task_runs
        where task_id in (${sql.join(ids)}) and status = 'success' and cache in ('miss', 'disabled')
      ) recent
      where n <= ${perTask}
      order by task_id, n`.execute(db);
    for (const r of rows) {
      const list = out.get(r.task_id);
      if (list) list.push(r);
      else out.set(r.task_id, [r]);
    }
  }
  return out;
}

/** Marks runs left `running` by a process that no longer exists (kill -9, power loss) as interrupted. */
export async function markAbandonedRuns(
  db: Kysely<Database>,
  host: string,
  isAlive: (pid: number) => boolean,
): Promise<number> {
  const stale = await db
    .selectFrom('runs')
    .select(['id', 'pid'])
    .where('status', '=', 'running')
    .where('host', '=', host)
    .execute();
  const dead = stale.filter((r) => !isAlive(r.pid)).map((r) => r.id);
  if (!dead.length) return 0;
  await db.transaction().execute(async (tx) => {
    await tx.updateTable('runs').set({ status: 'interrupted' }).where('id', 'in', dead).execute();
    await tx
      .updateTable('task_runs')
      .set({ status: 'interrupted' })
      .where('run_id', 'in', dead)
      .where('status', 'in', ['pending', 'running'])
      .execute();
  });
  return dead.length;
}
