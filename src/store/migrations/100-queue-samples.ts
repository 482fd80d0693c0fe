import type { Kysely } from 'kysely';

/**
 * The scale-out queue's length over time (issue 14, item 6): the coordinator of a `--queue` run
 * samples the jobs waiting and running, so `slipway report` can replay them through the HPA.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('queue_samples')
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('waiting', 'integer', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('queue_samples_pk', ['run_id', 'at'])
    .execute();
  await db.schema.createIndex('queue_samples_at').on('queue_samples').column('at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('queue_samples').execute();
}
