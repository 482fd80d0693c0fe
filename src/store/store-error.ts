/**
 * A store that cannot be opened: an unreachable server, a missing database, an unknown role, a
 * file that is not a database. It is the user's setting, not a bug, so it is a usage error
 * (one line naming the store with its password hidden, a hint, exit code 2), never a stack trace.
 */
import { unreachable } from '../util/result.js';
import { UsageError } from '../util/usage-error.js';

export type StoreFailureReason =
  | 'unreachable'
  | 'no-database'
  | 'unknown-role'
  | 'bad-password'
  | 'not-a-database'
  | 'no-access'
  | 'newer-schema'
  | 'other';

export class StoreOpenError extends UsageError {
  constructor(
    readonly location: string,
    readonly reason: StoreFailureReason,
    detail: string,
  ) {
    super(`cannot open store ${location}: ${detail}`, hintFor(reason));
  }
}

function hintFor(reason: StoreFailureReason): string {
  switch (reason) {
    case 'unreachable':
      return 'is PostgreSQL running and listening at that host and port? (--store or SLIPWAY_STORE)';
    case 'no-database':
      return 'create the database (createdb NAME) or fix the name at the end of the URL';
    case 'unknown-role':
      return 'fix the user name in the URL, or create the role (CREATE ROLE NAME LOGIN)';
    case 'bad-password':
      return 'fix the password in the URL (--store or SLIPWAY_STORE)';
    case 'not-a-database':
      return 'point --store at a SQLite file slipway created, or at a new file name';
    case 'no-access':
      return 'check the permissions of the file and its folder, or choose another --store';
    case 'newer-schema':
      return 'a newer Slipway wrote this store: upgrade Slipway here too (history is never migrated backwards)';
    case 'other':
      return 'check --store / SLIPWAY_STORE';
    default:
      return unreachable(reason);
  }
}

/** Builds the error for a failure to connect or migrate, from the driver's error code. */
export function storeOpenError(location: string, e: unknown, secret?: string): StoreOpenError {
  const code = (e as { code?: unknown }).code;
  let detail = e instanceof Error ? e.message : String(e);
  if (!detail && typeof code === 'string') detail = code;
  // AggregateError (every address of "localhost" refused) carries the reason in its parts.
  if (!detail && e instanceof AggregateError)
    detail = e.errors.map((x) => String(x?.message ?? x)).join('; ');
  if (secret) detail = detail.split(secret).join('***');
  detail = detail.split('\n')[0]!;
  // Kysely's words for a migration this build does not know: the store is from a newer Slipway.
  const newer = /previously executed migration (\S+) is missing/.exec(detail);
  if (newer)
    return new StoreOpenError(
      location,
      'newer-schema',
      `it has migration ${newer[1]}, which this version of Slipway does not know`,
    );
  return new StoreOpenError(location, reasonFor(code, detail), detail);
}

function reasonFor(code: unknown, detail: string): StoreFailureReason {
  switch (code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
    case 'ECONNRESET':
      return 'unreachable';
    case '3D000':
      return 'no-database';
    case '28000':
      return /role .* does not exist/.test(detail) ? 'unknown-role' : 'other';
    case '28P01':
      return 'bad-password';
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return 'not-a-database';
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_READONLY':
    case 'SQLITE_PERM':
    case 'EACCES':
    case 'EPERM':
    case 'ENOTDIR':
    case 'EEXIST':
    case 'EROFS':
    case '42501':
      return 'no-access';
    default:
      return /timeout|timed out|Connection terminated/i.test(detail) ? 'unreachable' : 'other';
  }
}
