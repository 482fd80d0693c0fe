/**
 * Queries over runs and task runs. Reads go through Kysely on both backends; writes go through
 * the backend's one `HistoryWrites` (history-batch.ts).
 */
import { type Kysely, sql } from 'kysely';
import type { HistoryBatch, HistoryWrites } from './history-batch.js';
import type { Database, RunsTable, TaskRunsTable } from './schema.js';

export type RunRow = RunsTable;
export type TaskRunRow = TaskRunsTable;

/** What predictions need of a past execution. */
export type RecentExecution = Pick<
  TaskRunRow,
  'task_id' | 'started_at' | 'duration_ms' | 'cpu_seconds' | 'peak_rss_bytes'
>;

export interface RunQueries {
  /** Writes one coalesced batch of history rows in one transaction (store/writer.ts). */
  write(batch: HistoryBatch): Promise<void>;
  /** Runs, newest first. */
  list(opts?: { pipeline?: string; since?: number; limit?: number }): Promise<RunRow[]>;
  /** The task runs of one run, by start. */
  taskRuns(runId: string): Promise<TaskRunRow[]>;
  /** Task runs of several runs, in any order. */
  taskRunsOf(runIds: readonly string[]): Promise<TaskRunRow[]>;
  /** Cache outcomes of the task runs of a pipeline's `limit` newest runs, and how many runs that was. */
  recentCacheOutcomes(
    pipeline: string,
    limit: number,
  ): Promise<{ runs: number; outcomes: Pick<TaskRunRow, 'cache' | 'saved_ms'>[] }>;
  /**
   * Recent uncached successful executions of tasks (newest first), at most `perTask` each; for
   * predictions. One bounded index range per task (the partial index `task_runs_recent`), so the
   * cost stays at `perTask` rows per task however long the history grows.
   */
  recentExecutions(taskIds: readonly string[], perTask?: number): Promise<Map<string, RecentExecution[]>>;
  /**
   * Marks runs of `host` left `running` by a process that no longer exists (kill -9, power loss)
   * as interrupted; returns how many.
   */
  markAbandoned(host: string, isAlive: (pid: number) => boolean): Promise<number>;
}

const IDS_PER_QUERY = 500;

/** The run queries over a Kysely connection, writing through `writes`. */
export function runQueries(
  db: Kysely<Database>,
  kind: 'sqlite' | 'postgres',
  writes: HistoryWrites,
): RunQueries {
  // SQLite's planner, without statistics, might not pick the partial index.
  const recentFrom = kind === 'sqlite' ? sql`task_runs indexed by task_runs_recent` : sql`task_runs`;
  return {
    write: (batch) => writes.write(batch),
    list: (opts = {}) => {
      let q = db.selectFrom('runs').selectAll();
      if (opts.pipeline !== undefined) q = q.where('pipeline', '=', opts.pipeline);
      if (opts.since !== undefined) q = q.where('started_at', '>=', opts.since);
      return q
        .orderBy('started_at', 'desc')
        .orderBy('id', 'desc')
        .limit(opts.limit ?? 1_000_000)
        .execute();
    },
    taskRuns: (runId) =>
      db.selectFrom('task_runs').selectAll().where('run_id', '=', runId).orderBy('started_at').execute(),
    taskRunsOf: async (runIds) => {
      const out: TaskRunRow[] = [];
      for (let i = 0; i < runIds.length; i += IDS_PER_QUERY) {
        const ids = runIds.slice(i, i + IDS_PER_QUERY);
        out.push(...(await db.selectFrom('task_runs').selectAll().where('run_id', 'in', ids).execute()));
      }
      return out;
    },
    recentCacheOutcomes: async (pipeline, limit) => {
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
    },
    recentExecutions: async (taskIds, perTask = 20) => {
      const out = new Map<string, RecentExecution[]>();
      for (const id of taskIds) {
        const { rows } = await sql<RecentExecution>`
          select task_id, started_at, duration_ms, cpu_seconds, peak_rss_bytes from ${recentFrom}
          where task_id = ${id} and status = 'success' and cache in ('miss', 'disabled')
          order by started_at desc limit ${perTask}`.execute(db);
        if (rows.length) out.set(id, rows);
      }
      return out;
    },
    markAbandoned: async (host, isAlive) => {
      const stale = await db
        .selectFrom('runs')
        .select(['id', 'pid'])
        .where('status', '=', 'running')
        .where('host', '=', host)
        .execute();
      const dead = stale.filter((r) => !isAlive(r.pid)).map((r) => r.id);
      if (dead.length) await writes.interrupt(dead);
      return dead.length;
    },
  };
}
