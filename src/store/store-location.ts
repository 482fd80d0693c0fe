/**
 * Where the history store lives, from `--store` or SLIPWAY_STORE: a `postgres://` or
 * `postgresql://` URL, or a SQLite file path. Any other `scheme://` is a mistake (a MySQL or
 * Redis URL, a typo such as `postgress://`), refused before anything is created: taken as a
 * path it would quietly become a local file and a folder named after the scheme.
 */
import path from 'node:path';
import { didYouMean } from '../config/diagnostic.js';
import { err, ok, type Result } from '../util/result.js';
import { UsageError } from '../util/usage-error.js';

export type StoreLocation = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

const ACCEPTED =
  'a store is a PostgreSQL URL (postgres://user:password@host:5432/database) or a SQLite file path (e.g. .slipway/history.db)';
/** Names people write for PostgreSQL that are too far from "postgres" for an edit distance. */
const POSTGRES_ALIASES = new Set(['pg', 'psql', 'pgsql', 'postgre', 'postgis']);

/** Parses a store value; `from` names where it came from (--store, SLIPWAY_STORE) for messages. */
export function parseStoreLocation(
  value: string,
  o: { root: string; from: string },
): Result<StoreLocation, UsageError> {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(\/\/)?/.exec(value);
  const sqlite = (): Result<StoreLocation, UsageError> =>
    ok({ kind: 'sqlite', file: path.resolve(o.root, value) });
  if (!m) return sqlite();
  const name = m[1]!.toLowerCase();
  const slashes = m[2] !== undefined;
  const postgres = name === 'postgres' || name === 'postgresql';
  if (postgres && slashes) return ok({ kind: 'postgres', url: value });
  const postgresLike = postgres || nearPostgres(name);
  // "a:b" without "//" is an odd but valid file name; "postgress:/h/db" is a typo.
  if (!slashes && !postgresLike) return sqlite();
  const shown = redactUrl(value);
  if (postgresLike) {
    const fixed = redactUrl(`postgres://${value.slice(m[0].length).replace(/^\/+/, '')}`);
    return err(
      new UsageError(
        `${o.from} "${shown}" is not a store URL`,
        `did you mean "${fixed}"? A${ACCEPTED.slice(1)}`,
      ),
    );
  }
  return err(new UsageError(`${o.from} "${shown}": ${name}:// is not a supported store`, ACCEPTED));
}

function nearPostgres(scheme: string): boolean {
  return POSTGRES_ALIASES.has(scheme) || didYouMean(scheme, ['postgres', 'postgresql']) !== undefined;
}

/** Hides the password of a connection URL (for messages and `Store.location`). */
export function redactUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/?#@]*):[^@]*@/, '$1:***@');
}
