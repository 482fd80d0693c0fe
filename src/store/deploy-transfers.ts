/** What each recorded deployment moved over the network, and how long its staging took. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface DeploymentTransferRow {
  id: string;
  environment: string;
  kind: string;
  status: string;
  started_at: number;
  duration_ms: number | null;
  artifact_bytes: number;
  bytes_sent: number;
  origin_egress_bytes: number;
  targets: number;
  /** The slowest target's staging time (targets stage side by side), null when none staged. */
  staging_ms: number | null;
}

export interface TransferQueries {
  /** Deployments (oldest first, optionally since a time) with their targets' staging summed up. */
  list(since?: number): Promise<DeploymentTransferRow[]>;
}

export function transferQueries(db: Kysely<Database>): TransferQueries {
  return { list: (since) => deploymentTransfers(db, since) };
}

/** The deployment's own columns: selected, and grouped by (PostgreSQL wants every one named). */
const DEPLOYMENT_COLUMNS = [
  'd.id',
  'd.environment',
  'd.kind',
  'd.status',
  'd.started_at',
  'd.duration_ms',
  'd.artifact_bytes',
  'd.bytes_sent',
  'd.origin_egress_bytes',
] as const;

async function deploymentTransfers(db: Kysely<Database>, since?: number): Promise<DeploymentTransferRow[]> {
  let q = db
    .selectFrom('deployments as d')
    .leftJoin('deployment_targets as t', 't.deployment_id', 'd.id')
    .select((eb) => [
      ...DEPLOYMENT_COLUMNS,
      eb.fn.count<number>('t.target').as('targets'),
      eb.fn.max('t.staged_ms').as('staging_ms'),
    ])
    .groupBy([...DEPLOYMENT_COLUMNS]);
  if (since !== undefined) q = q.where('d.started_at', '>=', since);
  const rows = await q.orderBy('d.started_at').execute();
  // PostgreSQL returns bigint and count() as strings.
  return rows.map((r) => ({
    ...r,
    started_at: Number(r.started_at),
    artifact_bytes: Number(r.artifact_bytes),
    bytes_sent: Number(r.bytes_sent),
    origin_egress_bytes: Number(r.origin_egress_bytes),
    targets: Number(r.targets),
    staging_ms: r.staging_ms === null ? null : Number(r.staging_ms),
  }));
}
