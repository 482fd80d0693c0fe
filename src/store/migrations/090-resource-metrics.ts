import type { Kysely } from 'kysely';

/**
 * The brief's missing metrics (issue 13, item 9): disk I/O of each task's process tree, the
 * pool's memory (for memory utilization), and what the agents measured of the app after each
 * deploy (item 10: start-up time, resident memory and CPU after a settle period), per target.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const c of [
    'io_read_bytes',
    'io_write_bytes',
    'io_read_ops',
    'io_write_ops',
    'io_read_chars',
    'io_write_chars',
  ])
    await db.schema.alterTable('task_runs').addColumn(c, 'bigint').execute();
  await db.schema.alterTable('runs').addColumn('capacity_memory', 'bigint').execute();
  await db.schema
    .createTable('app_validations')
    .addColumn('deployment_id', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('release', 'text', (c) => c.notNull())
    .addColumn('wave', 'integer', (c) => c.notNull())
    .addColumn('measured_at', 'bigint', (c) => c.notNull())
    .addColumn('startup_ms', 'double precision')
    .addColumn('rss_bytes', 'bigint')
    .addColumn('cpu_cores', 'double precision')
    .addColumn('settle_ms', 'double precision', (c) => c.notNull())
    .addColumn('problem', 'text')
    .addPrimaryKeyConstraint('app_validations_pk', ['deployment_id', 'target'])
    .execute();
  await db.schema
    .createIndex('app_validations_env')
    .on('app_validations')
    .columns(['environment', 'measured_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('app_validations').execute();
  await db.schema.alterTable('runs').dropColumn('capacity_memory').execute();
  for (const c of [
    'io_read_bytes',
    'io_write_bytes',
    'io_read_ops',
    'io_write_ops',
    'io_read_chars',
    'io_write_chars',
  ])
    await db.schema.alterTable('task_runs').dropColumn(c).execute();
}
