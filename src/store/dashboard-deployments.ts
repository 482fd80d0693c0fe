/**
 * The dashboard's reads of deployments (dashboard-queries.ts binds them to a store): pages of
 * deployments, one with its targets, those ended since a time or started in a window, and their
 * health samples summed. The same on SQLite and PostgreSQL.
 */
import { type Kysely, sql } from 'kysely';
import type { Database, DeploymentsTable, DeploymentTargetsTable } from './schema.js';

/** A page of deployments, newest first. */
export async function deploymentPage(
  db: Kysely<Database>,
  o: { before?: number; limit: number; status?: string },
): Promise<DeploymentsTable[]> {
  let q = db.selectFrom('deployments').selectAll();
  if (o.status !== undefined) q = q.where('status', '=', o.status);
  if (o.before !== undefined) q = q.where('started_at', '<', o.before);
  return q.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(o.limit).execute();
}

/** One deployment and its targets (by wave, then name), or undefined. */
export async function deploymentWithTargets(
  db: Kysely<Database>,
  id: string,
): Promise<{ deployment: DeploymentsTable; targets: DeploymentTargetsTable[] } | undefined> {
  const deployment = await db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
  if (!deployment) return undefined;
  const targets = await db
    .selectFrom('deployment_targets')
    .selectAll()
    .where('deployment_id', '=', id)
    .orderBy('wave')
    .orderBy('target')
    .execute();
  return { deployment, targets };
}

/** Deployments that ended at or after `since`. */
export async function deploymentsEndedSince(
  db: Kysely<Database>,
  since: number,
): Promise<DeploymentsTable[]> {
  return db
    .selectFrom('deployments')
    .selectAll()
    .where('ended_at', '>=', since)
    .where('status', '!=', 'running')
    .orderBy('ended_at')
    .execute();
}

/** A deployment's health samples summed over its targets. */
export interface DeploymentHealth {
  deployment_id: string;
  ok: number;
  failed: number;
  inconclusive: number;
  errors: number;
}

/** Health samples of the deployments started in [from, to), summed per deployment. */
export async function deploymentHealth(
  db: Kysely<Database>,
  o: { from: number; to: number },
): Promise<DeploymentHealth[]> {
  const rows = await db
    .selectFrom('deployment_targets')
    .innerJoin('deployments', 'deployments.id', 'deployment_targets.deployment_id')
    .select([
      'deployment_targets.deployment_id',
      sql<number>`sum(deployment_targets.health_ok)`.as('ok'),
      sql<number>`sum(deployment_targets.health_failed)`.as('failed'),
      sql<number>`sum(deployment_targets.health_inconclusive)`.as('inconclusive'),
      sql<number>`sum(deployment_targets.health_errors)`.as('errors'),
    ])
    .where('deployments.started_at', '>=', o.from)
    .where('deployments.started_at', '<', o.to)
    .groupBy('deployment_targets.deployment_id')
    .execute();
  return rows.map((r) => ({
    deployment_id: r.deployment_id,
    ok: Number(r.ok),
    failed: Number(r.failed),
    inconclusive: Number(r.inconclusive),
    errors: Number(r.errors),
  }));
}

/** Deployments started in [from, to), oldest first. */
export async function deploymentsInWindow(
  db: Kysely<Database>,
  o: { from: number; to: number },
): Promise<DeploymentsTable[]> {
  return db
    .selectFrom('deployments')
    .selectAll()
    .where('started_at', '>=', o.from)
    .where('started_at', '<', o.to)
    .orderBy('started_at')
    .execute();
}
