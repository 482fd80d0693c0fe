/**
 * A throwaway database per test file on the machine's PostgreSQL (127.0.0.1:5432, trust auth),
 * created on first use and dropped after the file. Without a server, the URL is undefined and a
 * warning says why, so the file's PostgreSQL cases skip instead of failing.
 */
import pg from 'pg';
import { afterAll } from 'vitest';

const SERVER = '127.0.0.1:5432';
const ADMIN = `postgres://root@${SERVER}/test`;

/** Call at a test file's top level; the returned function gives the database's URL, or undefined. */
export function scratchPostgres(label: string): () => Promise<string | undefined> {
  const name = `slipway_${label}_${process.pid}_${Date.now().toString(36)}`;
  let ready: Promise<boolean> | undefined;
  afterAll(async () => {
    if (!(await ready)) return;
    const c = new pg.Client({ connectionString: ADMIN });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  });
  return async () => {
    ready ??= create(name, label);
    return (await ready) ? `postgres://root@${SERVER}/${name}` : undefined;
  };
}

async function create(name: string, label: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: ADMIN, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query(`CREATE DATABASE ${name}`);
    return true;
  } catch (e) {
    console.warn(`PostgreSQL ${label} tests skipped: no server at ${SERVER} (${String(e)})`);
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}
