/** Queries over runs and task runs, shared by SQLite and PostgreSQL. */
import { type Kysely, sql } from 'kysely';
import type { Database, RunsTable, TaskRunsTable } from './schema.js';
import type { Store } from './store.js';

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

export async function taskRuns(db: Kysely<Database>, runId: string): Promise<TaskRunRow[]> {
  return db.selectFrom('task_runs').selectAll().where('run_id', '=', runId).orderBy('started_at').execute();
}

/** Task runs of several runs, in any order (queried 500 runs at a time). */
export async function taskRunsOf(db: Kysely<Database>, runIds: readonly string[]): Promise<TaskRunRow[]> {
  const out: TaskRunRow[] = [];
  for (let i = 0; i < runIds.length; i += 500) {
    out.push(
      ...(await db
        .selectFrom('task_runs')
        .selectAll()
        .where('run_id', 'in', runIds.slice(i, i + 500))
        .execute()),
    );
  }
  return out;
}

/** Cache outcomes of the task runs of a pipeline's `limit` newest runs, and how many runs that was. */
export async function recentCacheOutcomes(
  db: Kysely<Database>,
  pipeline: string,
  limit: number,
): Promise<{ runs: number; outcomes: Pick<TaskRunRow, 'cache' | 'saved_ms'>[] }> {
  const runs = await db
    .selectFrom('runs')
    .select('id')
    .where('pipeline', '=', pipeline)
    .orderBy('started_at', 'desc')
    .limit(limit)
    .execute();
  if (!runs.length) return { runs: 0, outcomes: [] };
  const outcomes = await db
    .selectFrom('task_runs')
    .select(['cache', 'saved_ms'])
    .where(
      'run_id',
      'in',
      runs.map((r) => r.id),
    )
    .execute();
  return { runs: runs.length, outcomes };
}

/** What predictions need of a past execution. */
export type RecentExecution = Pick<
  TaskRunRow,
  'task_id' | 'started_at' | 'duration_ms' | 'cpu_seconds' | 'peak_rss_bytes'
>;

/**
 * Recent uncached successful executions of tasks (newest first), at most `perTask` each; for
 * predictions. One bounded index range per task (the partial index `task_runs_recent`), so the
 * cost stays at `perTask` rows per task however long the history grows.
 */
export async function recentExecutions(
  store: Pick<Store, 'db' | 'kind'>,
  taskIds: readonly string[],
  perTask = 20,
): Promise<Map<string, RecentExecution[]>> {
  const out = new Map<string, RecentExecution[]>();
  // SQLite's planner, without statistics, might not pick the partial index.
  const from = store.kind === 'sqlite' ? sql`task_runs indexed by task_runs_recent` : sql`task_runs`;
  for (const id of taskIds) {
    const { rows } = await sql<RecentExecution>`
      select task_id, started_at, duration_ms, cpu_seconds, peak_rss_bytes from ${from}
      where task_id = ${id} and status = 'success' and cache in ('miss', 'disabled')
      order by started_at desc limit ${perTask}`.execute(store.db);
    if (rows.length) out.set(id, rows);
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
