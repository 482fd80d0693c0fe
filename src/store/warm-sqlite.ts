/**
 * A SQLite history store opened before a command asks for it. The daemon's spare (cli/spare.ts)
 * opens its checkout's default store while it waits, so `run` finds it open: loading the
 * driver's module, opening the file and setting up the connection cost a fully cached run of 60
 * packages about a tenth of its time.
 *
 * It is only a shortcut, checked when taken: the command gets it only when it asks for that very
 * file, the path still names the file that was opened (same device and inode: not removed or
 * replaced since), and its schema is still the one this build knows. Otherwise the command opens
 * its store as it would without it. The spare never creates or migrates a store ahead of a
 * command: a missing or older file is left to the command.
 *
 * Its owner closes it (`close`), not the command: the command's `close` does nothing, so the
 * spare can send its answer first. By then every write is committed; closing checkpoints the
 * write-ahead log into the database file, which a reader never needs (it reads the log too).
 */
import { statSync } from 'node:fs';
import { sqliteSchemaCurrent } from './migrate.js';
import type { SqliteConnection } from './sqlite.js';
import type { Store } from './store.js';

export class WarmSqlite {
  #taken = false;

  private constructor(
    /** The store's file. */
    readonly file: string,
    private readonly identity: string,
    private readonly conn: SqliteConnection,
  ) {}

  /** Opens `file` when it exists and is at this build's schema; undefined otherwise. Never throws. */
  static async open(file: string): Promise<WarmSqlite | undefined> {
    const before = identityOf(file);
    if (!before) return undefined;
    // The same module `openStore` loads (its dynamic import): a command that opens its own
    // store then finds it loaded too.
    const { connectSqlite } = await import('./sqlite.js');
    let conn: SqliteConnection;
    try {
      conn = await connectSqlite(file, { create: false, migrate: false });
    } catch {
      return undefined;
    }
    if (identityOf(file) !== before || !sqliteSchemaCurrent(conn.sqlite)) {
      await conn.store.close();
      return undefined;
    }
    primeLog(conn);
    return new WarmSqlite(file, before, conn);
  }

  /**
   * The store, when `file` is this one and it is unchanged (see above); at most once. Its `close`
   * does nothing: the owner closes it.
   */
  async take(file: string): Promise<Store | undefined> {
    if (this.#taken || file !== this.file || identityOf(file) !== this.identity) return undefined;
    if (!sqliteSchemaCurrent(this.conn.sqlite)) return undefined;
    this.#taken = true;
    return { ...this.conn.store, close: async () => {} };
  }

  /** Closes the connection (checkpointing the write-ahead log when it is the last one). */
  close(): Promise<void> {
    return this.conn.store.close();
  }
}

/**
 * The first commit into a write-ahead log that the last connection's close removed starts it
 * anew: it writes and fsyncs the log's header and then fsyncs the folder (the new file's name),
 * two waits on the disk in the command's history write. A write that changes nothing (the schema
 * version set to itself) starts the log now instead, while the spare waits; the command's commit
 * then appends to it. Best effort: a store another process is busy writing is left as it is.
 */
function primeLog(conn: SqliteConnection): void {
  try {
    const version = Number(conn.sqlite.pragma('user_version', { simple: true }));
    conn.sqlite.pragma(`user_version = ${version}`);
  } catch {
    // Busy or read-only: the command's first commit starts the log, as without a spare.
  }
}

/** Which file a path names now (device and inode); undefined when there is none. */
function identityOf(file: string): string | undefined {
  const st = statSync(file, { bigint: true, throwIfNoEntry: false });
  return st?.isFile() ? `${st.dev}:${st.ino}` : undefined;
}
