/**
 * One `slipway run` per checkout at a time (`.slipway/run.lock`). Two runs in one folder would
 * run the same tasks into the same output files, and each would then cache what the other half
 * wrote. The lock file names its holder (pid, host, process start time, command); a second run
 * waits for it, saying whose it is, and takes over a lock whose process is dead (kill -9, power
 * loss). Read-only commands never take it.
 *
 * The file is created complete or not at all: written under a temporary name, then hard-linked
 * to its name (link fails when the name exists, like O_EXCL, but the content is already whole).
 * Breaking a dead holder's lock happens under a second, short-lived lock (`run.lock.break`), so
 * two waiters that both saw the dead holder cannot remove a lock the other one has just taken.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import { isAncestor, ownStartTime, sameProcessAlive } from './proc-start.js';
import { err, ok, type Result } from './result.js';

/** Who holds (or held) a lock. */
export interface LockHolder {
  pid: number;
  host: string;
  /** Process start time (proc-start.ts), when the holder's system has /proc. */
  start?: string;
  /** Epoch ms. */
  since: number;
  command: string;
}

export interface HeldLock {
  /** Removes the lock if it is still ours. */
  release(): void;
  /** The holders this acquisition waited for, in order (empty: it was free). */
  waitedFor: LockHolder[];
  /** A dead holder whose lock was taken over, if any. */
  tookOver?: LockHolder;
  /**
   * The holder is our own ancestor (a task of that run started this one): waiting would never
   * end, so this run goes ahead inside the holder's lock, without a lock of its own.
   */
  nestedIn?: LockHolder;
}

export interface AcquireOptions {
  /** What the holder runs, shown to whoever waits (e.g. "slipway run build"). */
  command: string;
  /** false: do not wait, fail with the holder instead. */
  wait: boolean;
  /** Called once for each holder waited for. */
  onWait?: (holder: LockHolder) => void;
  pollMs?: number;
}

function me(): LockHolder {
  const start = ownStartTime();
  return {
    pid: process.pid,
    host: os.hostname(),
    ...(start ? { start } : {}),
    since: Date.now(),
    command: '',
  };
}

/** Takes the lock at `file`, waiting for a live holder unless `wait` is false. */
export async function acquireLock(
  file: string,
  o: AcquireOptions,
): Promise<Result<HeldLock, { holder: LockHolder }>> {
  const self: LockHolder = { ...me(), command: o.command };
  const text = JSON.stringify(self);
  const waitedFor: LockHolder[] = [];
  let tookOver: LockHolder | undefined;
  for (;;) {
    if (create(file, text)) {
      return ok({ release: () => releaseIfOurs(file, self), waitedFor, ...(tookOver ? { tookOver } : {}) });
    }
    const holder = readHolder(file);
    if (holder === 'gone') continue;
    if (holder === 'partial') {
      await sleep(o.pollMs ?? 100);
      continue;
    }
    if (holder === 'unreadable' || !holderAlive(holder)) {
      const broken = breakStale(file, holder);
      if (broken === 'removed' && holder !== 'unreadable') tookOver = holder;
      if (broken === 'retry') await sleep(o.pollMs ?? 100);
      continue;
    }
    if (holder.host === os.hostname() && isAncestor(holder.pid)) {
      return ok({ release: () => {}, waitedFor, nestedIn: holder });
    }
    if (!o.wait) return err({ holder });
    if (!waitedFor.some((h) => sameHolder(h, holder))) {
      waitedFor.push(holder);
      o.onWait?.(holder);
    }
    await sleep(o.pollMs ?? 100);
  }
}

/** "pid 123 (slipway run build, started 2026-01-01T10:00:00.000Z) on host h" */
export function describeHolder(h: LockHolder): string {
  const host = h.host === os.hostname() ? '' : ` on host ${h.host}`;
  return `pid ${h.pid} (${h.command || 'unknown command'}, started ${new Date(h.since).toISOString()})${host}`;
}

/** Creates `file` with `text` unless it exists; false when it does. */
function create(file: string, text: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, text);
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // A file system without hard links: exclusive create, content written just after.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') return createExclusive(file, text);
    throw e;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // Already gone.
    }
  }
}

function createExclusive(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

// An unparseable lock can only be one being written without hard links (createExclusive) or a
// torn write after power loss: give a writer this long before calling it stale.
const UNREADABLE_GRACE_MS = 5_000;

/** 'partial': unparseable but young (maybe still being written); 'unreadable': old and unparseable. */
function readHolder(file: string): LockHolder | 'gone' | 'partial' | 'unreadable' {
  let text: string;
  let mtimeMs: number;
  try {
    text = readFileSync(file, 'utf8');
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    return 'gone';
  }
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid === 'number' && typeof h.host === 'string' && typeof h.since === 'number') {
      return {
        pid: h.pid,
        host: h.host,
        since: h.since,
        command: String(h.command ?? ''),
        ...(typeof h.start === 'string' ? { start: h.start } : {}),
      };
    }
  } catch {
    // fall through
  }
  return Date.now() - mtimeMs > UNREADABLE_GRACE_MS ? 'unreadable' : 'partial';
}

/** A holder on another host cannot be checked from here: it counts as alive. */
function holderAlive(h: LockHolder): boolean {
  if (h.host !== os.hostname()) return true;
  return sameProcessAlive(h.pid, h.start);
}

const sameHolder = (a: LockHolder, b: LockHolder) =>
  a.pid === b.pid && a.since === b.since && a.host === b.host;

/**
 * Removes `file` if it still holds the stale `seen` holder, under the break lock. 'removed': we
 * removed it; 'changed': it is gone or someone else's now (look again); 'retry': another waiter
 * is breaking it, try later.
 */
function breakStale(file: string, seen: LockHolder | 'unreadable'): 'removed' | 'changed' | 'retry' {
  const breaker = `${file}.break`;
  if (!create(breaker, JSON.stringify(me()))) {
    const other = readHolder(breaker);
    // A breaker that died within these few lines: remove its lock (two crashes in a row are
    // needed for this to race).
    if (other === 'unreadable' || (typeof other === 'object' && !holderAlive(other))) unlinkQuiet(breaker);
    return 'retry';
  }
  try {
    const now = readHolder(file);
    if (now === 'gone' || now === 'partial') return 'changed';
    const same =
      now === 'unreadable' ? seen === 'unreadable' : seen !== 'unreadable' && sameHolder(now, seen);
    if (!same) return 'changed';
    unlinkQuiet(file);
    return 'removed';
  } finally {
    unlinkQuiet(breaker);
  }
}

function releaseIfOurs(file: string, self: LockHolder): void {
  const h = readHolder(file);
  if (typeof h === 'object' && sameHolder(h, self)) unlinkQuiet(file);
}

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone.
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
