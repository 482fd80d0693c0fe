/**
 * The environment lease in the store: one row per environment naming the deployment that may
 * change it, its owner and an expiry the owner renews. Taken atomically (insert-if-absent, then a
 * compare-and-set on the holder's id to take over a dead one), so two deployers sharing a store
 * never both proceed. The rows are the store's (store/leases.ts); who may take over whom is decided
here. Works the same on SQLite and PostgreSQL.
 */
import type { LeaseQueries } from '../store/leases.js';
import type { DeployLeasesTable } from '../store/schema.js';
import { err, ok, type Result } from '../util/result.js';
import { type Owner, ownerAlive } from './owner.js';

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
export async function readLease(leases: LeaseQueries, environment: string): Promise<Lease | undefined> {
  const row = await leases.read(environment);
  return row && toLease(row);
}

/**
 * Takes the environment's lease for `deploymentId`, or says who holds it. A holder whose process
 * is dead (or whose lease expired) is taken over; `tookOver` names it.
 */
export async function acquireLease(
  leases: LeaseQueries,
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
  await leases.insertIfAbsent(row);
  const held = await readLease(leases, req.environment);
  if (!held) return acquireLease(leases, req); // released between the insert and the read
  if (held.deploymentId === req.deploymentId) return ok({ lease: held });
  if (leaseLive(held, now)) return err(held);
  // Compare-and-set on the dead holder's id: of two deployers taking over, one wins.
  await leases.takeOver(row, held.deploymentId);
  const after = await readLease(leases, req.environment);
  if (after?.deploymentId === req.deploymentId) return ok({ lease: after, tookOver: held });
  return after ? err(after) : acquireLease(leases, req);
}

/** Extends the lease; false when it is no longer this deployment's (it was taken over). */
export async function renewLease(
  leases: LeaseQueries,
  lease: Pick<Lease, 'environment' | 'deploymentId'>,
  ttlMs: number,
): Promise<boolean> {
  await leases.renew(holderOf(lease), Date.now() + ttlMs);
  return (await readLease(leases, lease.environment))?.deploymentId === lease.deploymentId;
}

/** Gives the lease up (only if this deployment still holds it). */
export async function releaseLease(
  leases: LeaseQueries,
  lease: Pick<Lease, 'environment' | 'deploymentId'>,
): Promise<void> {
  await leases.release(holderOf(lease));
}

function holderOf(l: Pick<Lease, 'environment' | 'deploymentId'>) {
  return { environment: l.environment, deployment_id: l.deploymentId };
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
