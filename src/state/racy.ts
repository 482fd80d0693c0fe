/**
 * The one racy rule. A file modified within RACY_MS of now may change again within the same
 * timestamp tick without its stat moving, so a stat taken now cannot vouch for its content later
 * (git's index has the same rule). Nothing that remembers content by stat trusts such a file.
 */

/** How recent a change must be to count as racy: two seconds covers coarse (FAT, 1-2 s) timestamps. */
const RACY_MS = 2000;

/** Whether a change at `changedMs` (an mtime or ctime, in ms) is too recent to trust at `now`. */
export function isRacy(changedMs: number, now = Date.now()): boolean {
  return now - changedMs <= RACY_MS;
}
