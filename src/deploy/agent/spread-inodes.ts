/**
 * Where a release's new inodes go. ext4 places a file's inode in its folder's block group and a
 * subfolder's near its parent, and, on a filesystem without a journal, skips every inode deleted
 * in the last few minutes while looking for a free one (`recently_deleted`, one buffer lookup
 * each). An agent prunes a release of thousands of files on every deploy, so the next release's
 * files, created beside the pruned ones, pay a scan that grows with the churn: 20,000 files
 * created where 20,000 were just deleted cost 2.2-3.3 s of kernel CPU here, against 0.25-0.4 s in
 * a fresh group. The "top directory" attribute (`chattr +T`, FS_TOPDIR_FL) on the folder that
 * holds the releases being assembled makes ext4's Orlov allocator place each new release folder
 * in a lightly used block group instead, as it does for folders at the filesystem's root.
 * Best effort: another filesystem, or no `chattr`, leaves the folder as it was.
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
