import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { failpoint } from '../util/failpoint.js';
import { driverError } from './driver-error.js';
import { type HistoryBatch, TASK_RUN_UPDATES } from './history-batch.js';
import { migrateSqlite } from './migrate.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';
import { storeOpenError } from './store-error.js';

/**
 * Embedded SQLite in WAL mode: a kill -9 loses at most the write in flight, never the file.
 * Without `create`, a file that does not exist is an empty in-memory store: a command that only
 * reads history shows none, and leaves no file or folder behind.
 */
export async function openSqlite(file: string, o: { create: boolean }): Promise<Store> {
  const missing = !o.create && !existsSync(file);
  let sqlite: BetterSqlite3.Database | undefined;
  try {
    if (o.create) mkdirSync(path.dirname(file), { recursive: true });
    sqlite = missing ? new BetterSqlite3(':memory:') : new BetterSqlite3(file, { fileMustExist: !o.create });
    // Before anything that may wait for another process's lock (journal mode, migrations).
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    // Reads straight from the mapped file instead of one read() per page.
    sqlite.pragma('mmap_size = 268435456');
  } catch (e) {
    sqlite?.close();
    throw driverError('better-sqlite3', e) ?? storeOpenError(file, e);
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    await migrateSqlite(sqlite, db as Kysely<unknown>);
  } catch (e) {
    await db.destroy();
    throw storeOpenError(file, e);
  }
  const history = historyWriter(sqlite);
  return {
    db,
    kind: 'sqlite',
    location: file,
    writeHistory: async (batch) => history(batch),
    close: () => db.destroy(),
  };
}

type Row = Record<string, unknown>;

/**
 * History batches through prepared statements, one row at a time inside one transaction: for a
 * 400-task run this is a third of the time of building and compiling multi-row statements in
 * Kysely, and the SQL is the same (upsert on the task_runs key). Undefined values are left out,
 * so column defaults apply as they do through Kysely.
 */
function historyWriter(sqlite: BetterSqlite3.Database): (batch: HistoryBatch) => void {
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
  return sqlite.transaction((batch: HistoryBatch) => {
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
}

function pick(row: Row, cols: readonly string[]): Row {
  const out: Row = {};
  for (const c of cols) out[c] = row[c];
  return out;
}
