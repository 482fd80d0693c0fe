/** The history store seam: one Kysely query layer over SQLite (default) or PostgreSQL. */
import path from 'node:path';
import { type Kysely, Migrator, sql } from 'kysely';
import type { HistoryBatch } from './history-batch.js';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

export interface Store {
  readonly db: Kysely<Database>;
  readonly kind: 'sqlite' | 'postgres';
  /** Where it lives, with any password removed, for messages. */
  readonly location: string;
  /** Writes one coalesced batch of history rows in one transaction (see history-batch.ts). */
  writeHistory(batch: HistoryBatch): Promise<void>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** `postgres://…` or a SQLite file path; default `<root>/.slipway/history.db`. */
  url?: string;
  root: string;
}

/** Opens (creating and migrating as needed) the store chosen by url, SLIPWAY_STORE or the default. */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const url = opts.url ?? process.env.SLIPWAY_STORE;
  let store: Store;
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    const { openPostgres } = await import('./postgres.js');
    store = await openPostgres(url);
  } else {
    const { openSqlite } = await import('./sqlite.js');
    store = openSqlite(url ? path.resolve(opts.root, url) : path.join(opts.root, '.slipway', 'history.db'));
  }
  await migrate(store);
  return store;
}

/**
 * Brings the schema up to date. SQLite remembers in `user_version` which set of migrations it was
 * last brought up to, so opening an up-to-date file (every `slipway run`) costs one pragma
 * instead of the migrator's lock and bookkeeping queries.
 */
async function migrate(store: Store): Promise<void> {
  const mark = schemaMark();
  if (store.kind === 'sqlite') {
    const { rows } = await sql<{ user_version: number }>`PRAGMA user_version`.execute(store.db);
    if (rows[0]?.user_version === mark) return;
  }
  await runMigrations(store.db as Kysely<unknown>);
  if (store.kind === 'sqlite') await sql.raw(`PRAGMA user_version = ${mark}`).execute(store.db);
}

/** A positive 31-bit number naming the set of migrations this build knows (FNV-1a of their names). */
function schemaMark(): number {
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

/** Hides the password of a connection URL. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}
