/**
 * A database driver that cannot load: `pg` (an optional dependency, needed only for a
 * PostgreSQL store) not installed, or better-sqlite3's native binding missing or built for
 * another Node.js. Both are the installation, not a bug: one line naming the package, with the
 * way out as the hint, exit code 2.
 */
import { UsageError } from '../util/usage-error.js';

/** True when `e` says the module or its native binding could not be loaded. */
function cannotLoad(e: unknown, pkg: string): boolean {
  const code = (e as { code?: unknown })?.code;
  const message = e instanceof Error ? e.message : String(e);
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(pkg)) return true;
  return (
    code === 'ERR_DLOPEN_FAILED' ||
    /Could not locate the bindings file|NODE_MODULE_VERSION|invalid ELF header|wrong ELF class|cannot open shared object/.test(
      message,
    )
  );
}

/** The error for a driver that cannot load, or undefined when `e` is something else. */
export function driverError(pkg: 'pg' | 'better-sqlite3', e: unknown): UsageError | undefined {
  if (!cannotLoad(e, pkg)) return undefined;
  if (pkg === 'pg')
    return new UsageError(
      'a PostgreSQL store needs the "pg" package, which is not installed',
      'install it next to slipway (npm install pg), or use a SQLite file as the store',
    );
  const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  return new UsageError(
    `the SQLite history store needs better-sqlite3's native module, which cannot be loaded (${why})`,
    'rebuild it (npm rebuild better-sqlite3), or keep history in PostgreSQL: --store postgres://user@host/db (or SLIPWAY_STORE)',
  );
}
