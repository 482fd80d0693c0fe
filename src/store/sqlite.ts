import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { betterSqliteBinding } from './better-sqlite3-binding.js';
import { driverError } from './driver-error.js';
import { migrateSqlite } from './migrate.js';
import { storeOver } from './queries.js';
import type { Database } from './schema.js';
import { syncForExit } from './sqlite-exit.js';
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
    const nativeBinding = betterSqliteBinding();
    sqlite = missing
      ? new BetterSqlite3(':memory:', { nativeBinding })
      : new BetterSqlite3(file, { fileMustExist: !o.create, nativeBinding });
    // Before anything that may wait for another process's lock (journal mode, migrations).
    sqlite.pragma('busy_timeout = 5000');
    const opened = sqlite;
    whileBusySync(() => opened.pragma('journal_mode = WAL'));
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
    if (o.migrate !== false) await whileBusy(() => migrateSqlite(sqlite, db as Kysely<unknown>));
  } catch (e) {
    await db.destroy();
    throw storeOpenError(file, e);
  }
  const store = storeOver(db, { kind: 'sqlite', location: file, history: sqliteHistoryWrites(sqlite) });
  // Kysely closes the database only if it ever used it: a store that only wrote history through
  // prepared statements (or was opened and never used) is closed here.
  const close = async (c?: { processExits?: boolean }) => {
    // Left open, its log synced (sqlite-exit.ts): Kysely holds nothing else of it.
    if (c?.processExits && !missing && sqlite.open && syncForExit(sqlite, file)) return;
    await db.destroy();
    if (sqlite.open) sqlite.close();
  };
  return { store: { ...store, close }, sqlite, db };
}

/**
 * How long opening a store keeps trying, in all, while SQLite answers "database is locked". Its
 * busy handler covers most waits, but not all: a lock that would deadlock (two openers of a fresh
 * file, one switching it to WAL while the other reads it; a checkpoint on the last close) is
 * refused at once, and several first runs at once on a loaded machine met it (the migrate-race
 * fault test). The journal-mode switch and the migration (a transaction, rolled back on failure)
 * are each safe to run again.
 */
const OPEN_BUSY_MS = 60_000;

function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** A pause of 5-80 ms, growing with the attempt (jittered, so openers do not retry in step). */
function pauseMs(attempt: number): number {
  return Math.min(80, 5 * 2 ** attempt) * (0.5 + Math.random() / 2);
}

function whileBusySync<T>(f: () => T): T {
  const deadline = Date.now() + OPEN_BUSY_MS;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 0; ; attempt++) {
    try {
      return f();
    } catch (e) {
      if (!isBusy(e) || Date.now() > deadline) throw e;
      Atomics.wait(cell, 0, 0, pauseMs(attempt));
    }
  }
}

async function whileBusy<T>(f: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + OPEN_BUSY_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return await f();
    } catch (e) {
      if (!isBusy(e) || Date.now() > deadline) throw e;
      await sleep(pauseMs(attempt));
    }
  }
}
