import type { Kysely } from 'kysely';

/** Deployments and their targets (DESIGN §8); analytics reads them for deployment SLIs and DORA. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('deployments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('deploy'))
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('release', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('ended_at', 'bigint')
    .addColumn('duration_ms', 'double precision')
    .addColumn('git_sha', 'text')
    .addColumn('git_commit_at', 'bigint')
    .addColumn('artifact_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('bytes_sent', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('origin_egress_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('chunks_total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('chunks_reused', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('relay', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('reason', 'text')
    .execute();
  await db.schema
    .createIndex('deployments_env_started')
    .on('deployments')
    .columns(['environment', 'started_at'])
    .execute();

  await db.schema
    .createTable('deployment_targets')
    .addColumn('deployment_id', 'text', (c) => c.notNull().references('deployments.id').onDelete('cascade'))
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('agent', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('wave', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('previous_release', 'text')
    .addColumn('staged_ms', 'double precision')
    .addColumn('activated_at', 'bigint')
    .addColumn('bytes_sent', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('chunks_reused', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('chunks_fetched', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('health_ok', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('health_failed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('health_inconclusive', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('health_errors', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('reason', 'text')
    .addColumn('phases', 'text', (c) => c.notNull().defaultTo('{}'))
    .addPrimaryKeyConstraint('deployment_targets_pk', ['deployment_id', 'target'])
    .execute();
}
