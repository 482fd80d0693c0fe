/**
 * Where a release's new inodes go. ext4 places a file's inode in its folder's block group and a
 * subfolder's near its parent; on a filesystem without a journal (as on the bench machine's root
 * filesystem) it also skips every inode deleted in the last few minutes while looking for a free
 * one (`recently_deleted`, one buffer lookup each). An agent prunes a release of thousands of
 * files on every deploy, so the next release's files, created beside the pruned ones, pay a scan
 * that grows with the churn. The "top directory" attribute (`chattr +T`, FS_TOPDIR_FL) on the
 * folders releases are assembled in makes ext4's Orlov allocator place each new release folder
 * in a lightly used block group instead, as it does for folders at the filesystem's root. It is
 * a better draw, not a sure one: Orlov also likes a group just emptied by a deletion. 20,000
 * files created after 20,000 were deleted, four alternations on the loaded bench machine:
 * 1.2-2.4 s (median 2.1) of kernel CPU without, 0.24-2.0 s (median 1.0) with. A journalled ext4
 * does not scan, and other filesystems ignore the attribute or refuse it. Best effort: without
 * `chattr`, or where it fails, the folder is left as it was.
 */
import { execFile } from 'node:child_process';

/** Whether the attribute was set (`spread`) or could not be (`unsupported`, with why). */
export type SpreadOutcome = { spread: true } | { spread: false; why: string };

/** Marks `dir` as a top directory for ext4's allocator; never throws. */
export function spreadInodes(dir: string): Promise<SpreadOutcome> {
  return new Promise((resolve) => {
    execFile('chattr', ['+T', dir], { timeout: 10_000 }, (e, _out, stderr) => {
      if (!e) resolve({ spread: true });
      else resolve({ spread: false, why: String(stderr).trim() || e.message });
    });
  });
}
