import type { Kysely } from 'kysely';

/**
 * Regression findings from change-point detection, kept so later runs, `slipway check` and the
 * dashboard see the same ids; acknowledgements live on the row (who, when, why).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('findings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('pipeline', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('direction', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('run_started_at', 'bigint', (c) => c.notNull())
    .addColumn('previous_run_id', 'text')
    .addColumn('mean_before', 'double precision', (c) => c.notNull())
    .addColumn('mean_after', 'double precision', (c) => c.notNull())
    .addColumn('std_before', 'double precision', (c) => c.notNull())
    .addColumn('std_after', 'double precision', (c) => c.notNull())
    .addColumn('change', 'double precision', (c) => c.notNull())
    .addColumn('magnitude', 'double precision', (c) => c.notNull())
    .addColumn('p_value', 'double precision', (c) => c.notNull())
    .addColumn('samples_before', 'integer', (c) => c.notNull())
    .addColumn('samples_after', 'integer', (c) => c.notNull())
    .addColumn('latest_mean', 'double precision', (c) => c.notNull())
    .addColumn('persists', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('detected_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('acknowledged_at', 'bigint')
    .addColumn('acknowledged_by', 'text')
    .addColumn('ack_note', 'text')
    .execute();
  await db.schema
    .createIndex('findings_pipeline_subject')
    .on('findings')
    .columns(['pipeline', 'subject'])
    .execute();
}
