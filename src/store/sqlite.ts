import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { driverError } from './driver-error.js';
import { migrateSqlite } from './migrate.js';
import { storeOver } from './queries.js';
import type { Database } from './schema.js';
import { sqliteHistoryWrites } from './sqlite-history.js';
import type { Store } from './store.js';
import { storeOpenError } from './store-error.js';

/** An open SQLite store with its connection, for the warm store (warm-sqlite.ts), which re-checks it. */
export interface SqliteConnection {
  store: Store;
  sqlite: BetterSqlite3.Database;
  db: Kysely<Database>;
}

/**
 * Embedded SQLite in WAL mode: a kill -9 loses at most the write in flight, never the file.
 * Without `create`, a file that does not exist is an empty in-memory store: a command that only
 * reads history shows none, and leaves no file or folder behind.
 */
export async function openSqlite(file: string, o: { create: boolean }): Promise<Store> {
  return (await connectSqlite(file, o)).store;
}

/**
 * `openSqlite`, keeping hold of the connection; with `migrate: false` the schema is left as it is
 * (the caller checks it with sqliteSchemaCurrent).
 */
export async function connectSqlite(
  file: string,
  o: { create: boolean; migrate?: boolean },
): Promise<SqliteConnection> {
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
    if (o.migrate !== false) await migrateSqlite(sqlite, db as Kysely<unknown>);
  } catch (e) {
    await db.destroy();
    throw storeOpenError(file, e);
  }
  const store = storeOver(db, { kind: 'sqlite', location: file, history: sqliteHistoryWrites(sqlite) });
  // Kysely closes the database only if it ever used it: a store that only wrote history through
  // prepared statements (or was opened and never used) is closed here.
  const close = async () => {
    await db.destroy();
    if (sqlite.open) sqlite.close();
  };
  return { store: { ...store, close }, sqlite, db };
}
