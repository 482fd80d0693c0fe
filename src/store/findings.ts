/**
 * Stored regression findings. A scan is recorded in one transaction: the caller sees the
 * pipeline's rows and says what changes (analyze/findings-store.ts matches detections to them),
 * and the store applies it, so two concurrent scans cannot interleave their matching and writes.
 */
import type { Kysely } from 'kysely';
import type { Database, FindingsTable } from './schema.js';

const ROWS_PER_STATEMENT = 200;

/** The columns a (re-)detection sets. */
export type FindingColumns = Omit<
  FindingsTable,
  'id' | 'pipeline' | 'detected_at' | 'acknowledged_at' | 'acknowledged_by' | 'ack_note'
>;

/** What one scan changes: findings seen again, new ones, and ones no longer seen. */
export interface FindingChanges {
  update: { id: string; columns: FindingColumns }[];
  insert: FindingsTable[];
  retire: string[];
}

export type Acknowledgement = Pick<FindingsTable, 'acknowledged_at' | 'acknowledged_by' | 'ack_note'>;

export interface FindingQueries {
  /** The pipeline's findings, newest regime first. */
  list(pipeline: string): Promise<FindingsTable[]>;
  /** Reads the pipeline's findings and applies `change(existing)`, in one transaction. */
  sync(pipeline: string, change: (existing: FindingsTable[]) => FindingChanges, now: number): Promise<void>;
  /** Sets (or, with nulls, clears) a finding's acknowledgement; undefined when the id is unknown. */
  acknowledge(pipeline: string, id: string, ack: Acknowledgement): Promise<FindingsTable | undefined>;
}

/** The finding queries over a Kysely connection (both backends write this table this way). */
export function findingQueries(db: Kysely<Database>): FindingQueries {
  return {
    list: (pipeline) =>
      db
        .selectFrom('findings')
        .selectAll()
        .where('pipeline', '=', pipeline)
        .orderBy('run_started_at', 'desc')
        .orderBy('subject')
        .execute(),
    sync: (pipeline, change, now) =>
      db.transaction().execute(async (tx) => {
        const existing = await tx
          .selectFrom('findings')
          .selectAll()
          .where('pipeline', '=', pipeline)
          .execute();
        const { update, insert, retire } = change(existing);
        for (const u of update) {
          await tx.updateTable('findings').set(u.columns).where('id', '=', u.id).execute();
        }
        for (let i = 0; i < insert.length; i += ROWS_PER_STATEMENT) {
          await tx
            .insertInto('findings')
            .values(insert.slice(i, i + ROWS_PER_STATEMENT))
            .execute();
        }
        if (retire.length) {
          await tx
            .updateTable('findings')
            .set({ active: 0, persists: 0, updated_at: now })
            .where('id', 'in', retire)
            .execute();
        }
      }),
    acknowledge: async (pipeline, id, ack) => {
      const res = await db
        .updateTable('findings')
        .set(ack)
        .where('pipeline', '=', pipeline)
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return undefined;
      return db.selectFrom('findings').selectAll().where('id', '=', id).executeTakeFirst();
    },
  };
}
