/** Queries over deployments and their targets, the same on SQLite and PostgreSQL. */
import type { Kysely } from 'kysely';
import type { Database, DeploymentsTable, DeploymentTargetsTable } from './schema.js';

type DeploymentEnd = Pick<
  DeploymentsTable,
  'status' | 'ended_at' | 'duration_ms' | 'reason' | 'bytes_sent' | 'origin_egress_bytes' | 'chunks_reused'
>;

export interface DeploymentQueries {
  /** Records a deployment as it starts, with its targets, in one transaction. */
  start(row: DeploymentsTable, targets: readonly DeploymentTargetsTable[]): Promise<void>;
  /** Rewrites one target's row. */
  saveTarget(row: DeploymentTargetsTable): Promise<void>;
  /** Records how a deployment ended. */
  finish(id: string, end: DeploymentEnd): Promise<void>;
  /**
   * Records deployments as interrupted (status, reason, end), each only if it is still
   * `running`, so a deployment that finished meanwhile keeps its own ending.
   */
  interrupt(rows: readonly Pick<DeploymentsTable, 'id' | 'reason' | 'ended_at'>[]): Promise<void>;
  /** Recent deployments, newest first (default 20). */
  list(opts?: { environment?: string; limit?: number }): Promise<DeploymentsTable[]>;
  /** Every deployment (of any environment) started at or after `since`, oldest first. */
  since(since?: number): Promise<DeploymentsTable[]>;
  /** Deployments recorded as `running` (of one environment, or all). */
  running(environment?: string): Promise<DeploymentsTable[]>;
  /** An environment's deployments that are no longer running, newest first. */
  ended(environment: string, limit: number): Promise<DeploymentsTable[]>;
  /** The recorded status of a deployment; undefined when it is not recorded. */
  statusOf(id: string): Promise<string | undefined>;
  /** The targets of one deployment, by wave and name. */
  targets(id: string): Promise<DeploymentTargetsTable[]>;
  /** Health checks passed and failed, summed over each deployment's targets. */
  healthByDeployment(): Promise<Map<string, { ok: number; failed: number }>>;
}

/** The deployment queries over a Kysely connection (both backends write these tables this way). */
export function deploymentQueries(db: Kysely<Database>): DeploymentQueries {
  return {
    start: (row, targets) =>
      db.transaction().execute(async (tx) => {
        await tx.insertInto('deployments').values(row).execute();
        if (targets.length)
          await tx
            .insertInto('deployment_targets')
            .values([...targets])
            .execute();
      }),
    saveTarget: async (row) => {
      await db
        .updateTable('deployment_targets')
        .set(row)
        .where('deployment_id', '=', row.deployment_id)
        .where('target', '=', row.target)
        .execute();
    },
    finish: async (id, end) => {
      await db.updateTable('deployments').set(end).where('id', '=', id).execute();
    },
    interrupt: async (rows) => {
      for (const d of rows) {
        await db
          .updateTable('deployments')
          .set({ status: 'interrupted', reason: d.reason, ended_at: d.ended_at })
          .where('id', '=', d.id)
          .where('status', '=', 'running')
          .execute();
      }
    },
    list: (opts = {}) => {
      let q = db.selectFrom('deployments').selectAll();
      if (opts.environment) q = q.where('environment', '=', opts.environment);
      return q
        .orderBy('started_at', 'desc')
        .limit(opts.limit ?? 20)
        .execute();
    },
    since: (since) => {
      let q = db.selectFrom('deployments').selectAll();
      if (since !== undefined) q = q.where('started_at', '>=', since);
      return q.orderBy('started_at').execute();
    },
    running: (environment) => {
      let q = db.selectFrom('deployments').selectAll().where('status', '=', 'running');
      if (environment) q = q.where('environment', '=', environment);
      return q.orderBy('started_at').execute();
    },
    ended: (environment, limit) =>
      db
        .selectFrom('deployments')
        .selectAll()
        .where('environment', '=', environment)
        .where('status', '!=', 'running')
        .orderBy('started_at', 'desc')
        .limit(limit)
        .execute(),
    statusOf: async (id) =>
      (await db.selectFrom('deployments').select('status').where('id', '=', id).executeTakeFirst())?.status,
    targets: (id) =>
      db
        .selectFrom('deployment_targets')
        .selectAll()
        .where('deployment_id', '=', id)
        .orderBy('wave')
        .orderBy('target')
        .execute(),
    healthByDeployment: async () => {
      const health = new Map<string, { ok: number; failed: number }>();
      const rows = await db
        .selectFrom('deployment_targets')
        .select(['deployment_id', 'health_ok', 'health_failed'])
        .execute();
      for (const t of rows) {
        const h = health.get(t.deployment_id) ?? { ok: 0, failed: 0 };
        h.ok += t.health_ok;
        h.failed += t.health_failed;
        health.set(t.deployment_id, h);
      }
      return health;
    },
  };
}
