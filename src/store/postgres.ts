import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { writeHistoryBatch } from './history-batch.js';
import type { Database } from './schema.js';
import { redactUrl, type Store } from './store.js';

const INT8 = 20;
const NUMERIC = 1700;

/** PostgreSQL for teams; bigint and numeric come back as JS numbers like SQLite's. */
export async function openPostgres(url: string): Promise<Store> {
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
  // Fail fast with a clear message rather than on the first query.
  const client = await pool.connect();
  client.release();
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    kind: 'postgres',
    location: redactUrl(url),
    writeHistory: (batch) => writeHistoryBatch(db, batch),
    close: () => db.destroy(),
  };
}
