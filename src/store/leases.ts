/**
 * The environment lease rows: one per environment, naming the deployment that may change it.
 * Each write is one atomic statement (insert-if-absent, compare-and-set on the holder's id,
 * delete by holder), so two deployers sharing a store cannot both hold one; deploy/lease.ts
 * decides who may take over whom.
 */
import type { Kysely } from 'kysely';
import type { Database, DeployLeasesTable } from './schema.js';

type Holder = Pick<DeployLeasesTable, 'environment' | 'deployment_id'>;

export interface LeaseQueries {
  /** The environment's lease row, live or not. */
  read(environment: string): Promise<DeployLeasesTable | undefined>;
  /** Inserts the row unless the environment already has one. */
  insertIfAbsent(row: DeployLeasesTable): Promise<void>;
  /** Replaces the row, only if `from` still holds it. */
  takeOver(row: DeployLeasesTable, from: string): Promise<void>;
  /** Moves the expiry, only if `holder` still holds the lease. */
  renew(holder: Holder, expiresAt: number): Promise<void>;
  /** Deletes the row, only if `holder` still holds the lease. */
  release(holder: Holder): Promise<void>;
}

/** The lease queries over a Kysely connection (both backends write this table this way). */
export function leaseQueries(db: Kysely<Database>): LeaseQueries {
  return {
    read: (environment) =>
      db.selectFrom('deploy_leases').selectAll().where('environment', '=', environment).executeTakeFirst(),
    insertIfAbsent: async (row) => {
      await db
        .insertInto('deploy_leases')
        .values(row)
        .onConflict((oc) => oc.column('environment').doNothing())
        .execute();
    },
    takeOver: async (row, from) => {
      await db
        .updateTable('deploy_leases')
        .set(row)
        .where('environment', '=', row.environment)
        .where('deployment_id', '=', from)
        .execute();
    },
    renew: async (holder, expiresAt) => {
      await db
        .updateTable('deploy_leases')
        .set({ expires_at: expiresAt })
        .where('environment', '=', holder.environment)
        .where('deployment_id', '=', holder.deployment_id)
        .execute();
    },
    release: async (holder) => {
      await db
        .deleteFrom('deploy_leases')
        .where('environment', '=', holder.environment)
        .where('deployment_id', '=', holder.deployment_id)
        .execute();
    },
  };
}
