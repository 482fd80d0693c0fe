import type { Kysely } from 'kysely';

/**
 * One deployment per environment (issue 10, defects 4 and 5): the owner of each deployment (so
 * the next command can tell a dead one from a running one and mark it `interrupted`), and a
 * lease row per environment that a deployer takes atomically and renews while it works.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('deployments').addColumn('owner_pid', 'integer').execute();
  await db.schema.alterTable('deployments').addColumn('owner_host', 'text').execute();
  await db.schema.alterTable('deployments').addColumn('owner_start', 'text').execute();
  await db.schema
    .createTable('deploy_leases')
    .addColumn('environment', 'text', (c) => c.primaryKey())
    .addColumn('deployment_id', 'text', (c) => c.notNull())
    .addColumn('owner_pid', 'integer', (c) => c.notNull())
    .addColumn('owner_host', 'text', (c) => c.notNull())
    .addColumn('owner_start', 'text', (c) => c.notNull())
    .addColumn('acquired_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
}
