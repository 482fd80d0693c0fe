/**
 * History writes on SQLite through prepared statements, one row at a time inside one
 * transaction: for a 400-task run this is a third of the time of building and compiling
 * multi-row statements in Kysely, and the SQL is the same (upsert on the task_runs key).
 * Undefined values are left out, so column defaults apply as they do through Kysely.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { failpoint } from '../util/failpoint.js';
import { type HistoryBatch, type HistoryWrites, TASK_RUN_UPDATES, UNFINISHED } from './history-batch.js';

type Row = Record<string, unknown>;

/** The runs and task_runs writes of a SQLite store (its only path to those tables). */
export function sqliteHistoryWrites(sqlite: BetterSqlite3.Database): HistoryWrites {
  const statements = new Map<string, BetterSqlite3.Statement>();
  const prepared = (key: string, make: () => string) => {
    let s = statements.get(key);
    if (!s) {
      s = sqlite.prepare(make());
      statements.set(key, s);
    }
    return s;
  };
  const defined = (row: Row) => Object.keys(row).filter((k) => row[k] !== undefined);
  const quote = (c: string) => `"${c.replaceAll('"', '""')}"`;
  const insert = (table: string, row: Row, conflict = '') => {
    const cols = defined(row);
    const sql = () =>
      `insert into ${table} (${cols.map(quote).join(', ')}) values (${cols.map((c) => `@${c}`).join(', ')})${conflict}`;
    prepared(`${table}\0${cols.join(',')}`, sql).run(pick(row, cols));
  };
  const taskConflict = ` on conflict ("run_id", "task_id") do update set ${TASK_RUN_UPDATES.map(
    (c) => `${quote(c)} = excluded.${quote(c)}`,
  ).join(', ')}`;
  const write = sqlite.transaction((batch: HistoryBatch) => {
    for (const r of batch.newRuns) insert('runs', r as unknown as Row);
    for (const r of batch.changedRuns) {
      const cols = defined(r as unknown as Row).filter((c) => c !== 'id');
      prepared(
        `runs update\0${cols.join(',')}`,
        () => `update runs set ${cols.map((c) => `${quote(c)} = @${c}`).join(', ')} where "id" = @id`,
      ).run(pick(r as unknown as Row, [...cols, 'id']));
    }
    for (const t of batch.taskRuns) {
      // Crash tests (test/faults/kill-run): a kill inside the transaction must lose it whole.
      failpoint('history-row');
      insert('task_runs', t as unknown as Row, taskConflict);
    }
  });
  const unfinished = UNFINISHED.map((s) => `'${s}'`).join(', ');
  const interrupt = sqlite.transaction((runIds: readonly string[]) => {
    const run = prepared(
      'interrupt run',
      () => `update runs set "status" = 'interrupted' where "id" = ? and "status" = 'running'`,
    );
    const tasks = prepared(
      'interrupt tasks',
      () =>
        `update task_runs set "status" = 'interrupted' where "run_id" = ? and "status" in (${unfinished})`,
    );
    for (const id of runIds) {
      run.run(id);
      tasks.run(id);
    }
  });
  return {
    write: async (batch) => write(batch),
    interrupt: async (runIds) => interrupt(runIds),
  };
}

function pick(row: Row, cols: readonly string[]): Row {
  const out: Row = {};
  for (const c of cols) out[c] = row[c];
  return out;
}
