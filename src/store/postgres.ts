import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { kyselyHistoryWrites } from './history-batch.js';
import { migratePostgres } from './migrate.js';
import { storeOver } from './queries.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';
import { storeOpenError } from './store-error.js';
import { redactUrl } from './store-location.js';

const INT8 = 20;
const NUMERIC = 1700;

/**
 * PostgreSQL for teams; bigint and numeric come back as JS numbers like SQLite's. Connects and
 * migrates before returning, so an unreachable server, a missing database or an unknown role is
 * one StoreOpenError here rather than a failure on the first query.
 */
export async function openPostgres(url: string): Promise<Store> {
  const location = redactUrl(url);
  const secret = passwordOf(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: 5000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8 || oid === NUMERIC
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its server must not crash the process (pg re-emits it on the pool).
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    const client = await pool.connect();
    client.release();
    await migratePostgres(pool, db as Kysely<unknown>);
  } catch (e) {
    await db.destroy().catch(() => {});
    throw storeOpenError(location, e, secret);
  }
  return storeOver(db, { kind: 'postgres', location, history: kyselyHistoryWrites(db) });
}

function passwordOf(url: string): string | undefined {
  try {
    const p = decodeURIComponent(new URL(url).password);
    return p.length >= 3 ? p : undefined;
  } catch {
    return undefined;
  }
}
