/**
 * Closing a SQLite store in a process that exits right after (`slipway deploy` without the daemon,
 * bin/slipway.js): its commits are made durable with one sync of the write-ahead log, and the log
 * is left for the next opener instead of being checkpointed into the database file and removed.
 *
 * Why: in WAL mode with `synchronous = NORMAL` a commit is not synced; closing the last
 * connection checkpoints (syncs the log, copies its pages into the database file and syncs that)
 * and removes the log, and the next process's first commit creates it anew, syncing its header
 * and its folder. On a disk shared with the agent's writes (the deploy bench's machine) those
 * syncs took 5-100 ms before a cold deploy's first byte moved (the lease's commit) and 1-1,100 ms
 * after its last (strace). Left in place, the next process appends to the log: no sync before
 * its first byte, one (the log, and its folder once) at its end.
 *
 * Nothing is given up: the last commit is synced before the process exits (`synchronous = FULL`
 * for a commit that changes nothing but writes the log: the schema version set to itself, as
 * warm-sqlite.ts primes the log), so the deployment's record survives a power cut as it did;
 * a log left behind is what SQLite reads after a crash, and the next connection recovers from it
 * (reads it whole: kept under LEAVE_MAX_BYTES, past which the log is checkpointed here after
 * all, after the command's work). The connection stays open: it must not be closed (that
 * checkpoints), and the process must exit without Node.js's teardown, which closes it
 * (bin/slipway.js exits with `process.exit`); torn down after all, it is closed as before.
 */
import { statSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';

/** A log past this many bytes is checkpointed at the exit (~2 ms of recovery for the next opener). */
const LEAVE_MAX_BYTES = 2 * 1024 * 1024;

/**
 * Syncs every commit of `sqlite` (the store `file`) to its write-ahead log and leaves the
 * connection open; false (nothing done) when the log is not there or past LEAVE_MAX_BYTES, or
 * the sync failed (another process writing, a read-only file): the caller closes the connection
 * as usual then.
 */
export function syncForExit(sqlite: BetterSqlite3.Database, file: string): boolean {
  const log = statSync(`${file}-wal`, { throwIfNoEntry: false });
  if (!log || log.size > LEAVE_MAX_BYTES) return false;
  try {
    // Another process writing now: not waited for (busy_timeout would, for up to 5 s); the
    // close then goes as any other (its checkpoint, when it gets the lock, syncs what was committed).
    sqlite.pragma('busy_timeout = 0');
    sqlite.pragma('synchronous = FULL');
    const version = Number(sqlite.pragma('user_version', { simple: true }));
    sqlite.pragma(`user_version = ${version}`);
    return true;
  } catch {
    return false;
  }
}
