import type { Kysely } from 'kysely';

/**
 * Why a task did not succeed, as the `TaskFailure` value (exec/task-failure.ts) in JSON, beside
 * the `reason` text that older readers know (rendered from the same value). Rows written before
 * this migration keep only their text.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('task_runs').addColumn('failure', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('task_runs').dropColumn('failure').execute();
}
