import type { Kysely } from 'kysely';

/** Runs and task runs. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('pipeline', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('ended_at', 'bigint')
    .addColumn('duration_ms', 'double precision')
    .addColumn('concurrency', 'integer', (c) => c.notNull())
    .addColumn('capacity_cpu', 'double precision', (c) => c.notNull())
    .addColumn('lower_bound_ms', 'double precision')
    .addColumn('predicted_makespan_ms', 'double precision')
    .addColumn('critical_path', 'text', (c) => c.notNull())
    .addColumn('git_sha', 'text')
    .addColumn('git_commit_at', 'bigint')
    .addColumn('argv', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('tasks_total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('tasks_succeeded', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('tasks_failed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('tasks_skipped', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('tasks_cached', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex('runs_pipeline_started')
    .on('runs')
    .columns(['pipeline', 'started_at'])
    .execute();

  await db.schema
    .createTable('task_runs')
    .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('cache', 'text')
    .addColumn('hash', 'text')
    .addColumn('started_at', 'bigint')
    .addColumn('ended_at', 'bigint')
    .addColumn('duration_ms', 'double precision')
    .addColumn('predicted_ms', 'double precision')
    .addColumn('exit_code', 'integer')
    .addColumn('cpu_seconds', 'double precision')
    .addColumn('peak_rss_bytes', 'bigint')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('reason', 'text')
    .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('cpu_request', 'double precision')
    .addColumn('memory_request', 'double precision')
    .addColumn('saved_ms', 'double precision')
    .addPrimaryKeyConstraint('task_runs_pk', ['run_id', 'task_id'])
    .execute();
  await db.schema.createIndex('task_runs_task').on('task_runs').columns(['task_id', 'started_at']).execute();
}
