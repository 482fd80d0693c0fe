/**
 * What the agents measured of the app after each deploy (migration 090): written as the
 * `app-validated` events of a deployment arrive (deploy/app-validation-records.ts), read back for
 * the report's change points.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface AppValidationsTable {
  deployment_id: string;
  target: string;
  environment: string;
  release: string;
  wave: number;
  measured_at: number;
  startup_ms: number | null;
  rss_bytes: number | null;
  cpu_cores: number | null;
  settle_ms: number;
  problem: string | null;
}

declare module './schema.js' {
  interface Database {
    app_validations: AppValidationsTable;
  }
}

export interface AppValidationQueries {
  /** Records one target's measurement (a second one for the same deployment and target is ignored). */
  insert(row: AppValidationsTable): Promise<void>;
  /** Measurements, oldest first, optionally since a time. */
  since(since?: number): Promise<AppValidationsTable[]>;
}

export function appValidationQueries(db: Kysely<Database>): AppValidationQueries {
  return {
    insert: async (row) => {
      await db
        .insertInto('app_validations')
        .values(row)
        .onConflict((oc) => oc.columns(['deployment_id', 'target']).doNothing())
        .execute();
    },
    since: (since) => appValidationsSince(db, since),
  };
}

async function appValidationsSince(db: Kysely<Database>, since?: number): Promise<AppValidationsTable[]> {
  let q = db.selectFrom('app_validations').selectAll();
  if (since !== undefined) q = q.where('measured_at', '>=', since);
  const rows = await q.orderBy('measured_at').orderBy('target').execute();
  return rows.map((r) => ({
    ...r,
    measured_at: Number(r.measured_at),
    rss_bytes: r.rss_bytes === null ? null : Number(r.rss_bytes),
  }));
}
