/**
 * The environment lease in the store: one row per environment naming the deployment that may
 * change it, its owner and an expiry the owner renews. Taken atomically (insert-if-absent, then a
 * compare-and-set on the holder's id to take over a dead one), so two deployers sharing a store
 * never both proceed. Works the same on SQLite and PostgreSQL.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { err, ok, type Result } from '../util/result.js';
import { type Owner, ownerAlive } from './owner.js';

export interface DeployLeasesTable {
  environment: string;
  deployment_id: string;
  owner_pid: number;
  owner_host: string;
  owner_start: string;
  acquired_at: number;
  expires_at: number;
}

declare module '../store/schema.js' {
  interface Database {
    deploy_leases: DeployLeasesTable;
  }
}

export interface Lease {
  environment: string;
  deploymentId: string;
  owner: Owner;
  acquiredAt: number;
  expiresAt: number;
}

/** A lease is live while its owner runs (checked on this host) or, elsewhere, until it expires. */
export function leaseLive(l: Lease, now = Date.now()): boolean {
  const alive = ownerAlive(l.owner);
  return alive === undefined ? l.expiresAt > now : alive;
}

/** The lease of an environment, live or not. */
export async function readLease(db: Kysely<Database>, environment: string): Promise<Lease | undefined> {
  const row = await db
    .selectFrom('deploy_leases')
    .selectAll()
    .where('environment', '=', environment)
    .executeTakeFirst();
  return row && toLease(row);
}

/**
 * Takes the environment's lease for `deploymentId`, or says who holds it. A holder whose process
 * is dead (or whose lease expired) is taken over; `tookOver` names it.
 */
export async function acquireLease(
  db: Kysely<Database>,
  req: { environment: string; deploymentId: string; owner: Owner; ttlMs: number },
): Promise<Result<{ lease: Lease; tookOver?: Lease }, Lease>> {
  const now = Date.now();
  const row = {
    environment: req.environment,
    deployment_id: req.deploymentId,
    owner_pid: req.owner.pid,
    owner_host: req.owner.host,
    owner_start: req.owner.start,
    acquired_at: now,
    expires_at: now + req.ttlMs,
  };
  await db
    .insertInto('deploy_leases')
    .values(row)
    .onConflict((oc) => oc.column('environment').doNothing())
    .execute();
  const held = await readLease(db, req.environment);
  if (!held) return acquireLease(db, req); // released between the insert and the read
  if (held.deploymentId === req.deploymentId) return ok({ lease: held });
  if (leaseLive(held, now)) return err(held);
  // Compare-and-set on the dead holder's id: of two deployers taking over, one wins.
  await db
    .updateTable('deploy_leases')
    .set(row)
    .where('environment', '=', req.environment)
    .where('deployment_id', '=', held.deploymentId)
    .execute();
  const after = await readLease(db, req.environment);
  if (after?.deploymentId === req.deploymentId) return ok({ lease: after, tookOver: held });
  return after ? err(after) : acquireLease(db, req);
}

/** Extends the lease; false when it is no longer this deployment's (it was taken over). */
export async function renewLease(
  db: Kysely<Database>,
  lease: Pick<Lease, 'environment' | 'deploymentId'>,
  ttlMs: number,
): Promise<boolean> {
  await db
    .updateTable('deploy_leases')
    .set({ expires_at: Date.now() + ttlMs })
    .where('environment', '=', lease.environment)
    .where('deployment_id', '=', lease.deploymentId)
    .execute();
  return (await readLease(db, lease.environment))?.deploymentId === lease.deploymentId;
}

/** Gives the lease up (only if this deployment still holds it). */
export async function releaseLease(
  db: Kysely<Database>,
  lease: Pick<Lease, 'environment' | 'deploymentId'>,
): Promise<void> {
  await db
    .deleteFrom('deploy_leases')
    .where('environment', '=', lease.environment)
    .where('deployment_id', '=', lease.deploymentId)
    .execute();
}

function toLease(r: DeployLeasesTable): Lease {
  return {
    environment: r.environment,
    deploymentId: r.deployment_id,
    owner: { pid: r.owner_pid, host: r.owner_host, start: r.owner_start },
    acquiredAt: r.acquired_at,
    expiresAt: r.expires_at,
  };
}
