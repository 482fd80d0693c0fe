/**
 * Brings a store's schema up to date, safely when several processes (or machines) open a fresh
 * store at once: each backend takes a lock that spans the whole migration and looks again at
 * what is applied once it holds it, so the second opener finds the work done instead of
 * creating the same tables again.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { type Kysely, Migrator } from 'kysely';
import type pg from 'pg';
import { migrations } from './migrations/index.js';

/** How long an opener waits for another one's migration (or write) before giving up. */
const MIGRATION_BUSY_MS = 60_000;

/**
 * SQLite remembers in `user_version` which set of migrations it was last brought up to, so
 * opening an up-to-date file (every `slipway run`) costs one pragma. Otherwise the migration
 * runs inside `BEGIN IMMEDIATE` (the database's one write lock, taken before reading the
 * version), so a concurrent opener waits for it, then sees the new version and does nothing.
 */
export async function migrateSqlite(sqlite: BetterSqlite3.Database, db: Kysely<unknown>): Promise<void> {
  const mark = schemaMark();
  const version = () => sqlite.pragma('user_version', { simple: true }) as number;
  if (version() === mark) return;
  const busy = sqlite.pragma('busy_timeout', { simple: true }) as number;
  sqlite.pragma(`busy_timeout = ${MIGRATION_BUSY_MS}`);
  try {
    sqlite.exec('BEGIN IMMEDIATE');
    try {
      if (version() !== mark) {
        await runMigrations(db);
        sqlite.pragma(`user_version = ${mark}`);
      }
      sqlite.exec('COMMIT');
    } catch (e) {
      if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
      throw e;
    }
  } finally {
    sqlite.pragma(`busy_timeout = ${busy}`);
  }
}

/** Whether a SQLite store is at this build's schema already (migrateSqlite would do nothing). */
export function sqliteSchemaCurrent(sqlite: BetterSqlite3.Database): boolean {
  return sqlite.pragma('user_version', { simple: true }) === schemaMark();
}

/**
 * PostgreSQL: one connection holds a transaction-scoped advisory lock for the whole migration
 * (released by commit, or by the server when a crashed opener's connection drops), while the
 * migrator works on the pool's other connections and re-reads what is applied.
 */
export async function migratePostgres(pool: pg.Pool, db: Kysely<unknown>): Promise<void> {
  const client = await pool.connect();
  let done = false;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [ADVISORY_LOCK_KEY]);
    await runMigrations(db);
    await client.query('COMMIT');
    done = true;
  } finally {
    if (!done) await client.query('ROLLBACK').catch(() => {});
    client.release(!done);
  }
}

/** An arbitrary fixed 64-bit key, distinct from the one Kysely's migrator locks on its own. */
const ADVISORY_LOCK_KEY = '7236850797431285093';

let knownMark: number | undefined;
/** A positive 31-bit number naming the set of migrations this build knows (FNV-1a of their names). */
function schemaMark(): number {
  knownMark ??= fnv();
  return knownMark;
}

function fnv(): number {
  let h = 0x811c9dc5;
  for (const c of Object.keys(migrations).sort().join('\n')) {
    h ^= c.charCodeAt(0);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 1 || 1;
}

async function runMigrations(db: Kysely<unknown>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    allowUnorderedMigrations: true,
    migrationTableName: 'slipway_migrations',
    migrationLockTableName: 'slipway_migrations_lock',
  });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
}
