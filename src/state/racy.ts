/**
 * The one racy rule. A file changed in the same timestamp tick as the stat that recorded it may
 * change again within that tick without its stat moving, so such a stat cannot vouch for its
 * content later (git's index has the same rule). Nothing that remembers content by stat trusts
 * such a file. "Now" is either the wall clock, with RACY_MS of margin for any filesystem's tick,
 * or a stamp the same filesystem wrote just before the stats were taken (stat-record.ts fsNow):
 * its time comes from the same clock in the same ticks as the files' own, so only a change at or
 * after the stamp is racy.
 */

/** How recent a change must be to count as racy by the wall clock: two seconds covers coarse (FAT, 1-2 s) timestamps. */
const RACY_MS = 2000;

/** The time a filesystem gave a file it just wrote (ms), and which filesystem (device). */
export interface FsStamp {
  ms: number;
  dev: number;
}

/**
 * Whether a change at `changedMs` (an mtime or ctime, in ms) is too recent to trust at `now`:
 * the wall clock (ms), or a stamp of the changed file's own filesystem.
 */
export function isRacy(changedMs: number, now: number | FsStamp = Date.now()): boolean {
  if (typeof now === 'number') return now - changedMs <= RACY_MS;
  return changedMs >= now.ms;
}
